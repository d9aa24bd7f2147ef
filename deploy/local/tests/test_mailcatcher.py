from __future__ import annotations

from email.message import EmailMessage

from tenderwire_stack.mailcatcher import parse


def test_a_subject_folded_right_after_its_colon_reads_back_unchanged() -> None:
    subject = "[Nouvel appel] Isolation gowns for health centres (UNICEF, UNICEF-DEMO-0001)"
    message = EmailMessage()
    message["Subject"] = subject
    message["Message-ID"] = "<a@b>"
    message.set_content("text")
    message.add_alternative("<p>html</p>", subtype="html")

    caught = parse(message.as_bytes(), "from@example.org", ["to@example.org"])

    assert b"Subject:\n " in message.as_bytes()  # the fold this test is about
    assert caught.subject == subject
    assert caught.text.strip() == "text"
    assert caught.html.strip() == "<p>html</p>"
