from tenderwire_stack.cli import app

app()
