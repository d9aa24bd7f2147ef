"""Open Contracting Data Standard 1.1: importing release packages into the notice lifecycle,
and exporting a notice's revision history as releases and a record."""
