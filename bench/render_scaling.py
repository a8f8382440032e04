"""Rendering time against input size: each pass over user data must be linear (issue 12).

    .venv/bin/python bench/render_scaling.py

Measures the subject clean-up, link rewriting for click tracking, text derivation and a whole
send's render at 1x, 10x, 100x and 1000x a typical email (1.5 KB of HTML with ten links; 1000x is
1.5 MB, near the 2 MB the API accepts in a body and inside the 2 MB limit of an email), on normal
input and on the hostile input of issue 12 (runs of spaces, unclosed `<a `). `ratio` is the time
ratio divided by the size ratio, against 1x: about 1 when linear, about the size ratio when
quadratic. The code before issue 12 (commit BEFORE, read from git) is measured in the same run,
up to the size where one call would take more than 30 s.
"""

import contextlib
import json
import subprocess
import sys
import time
import types
from collections.abc import Callable
from datetime import date
from typing import Any

from common import ENV, ROOT, machine

BEFORE = "49ebeda"
SCALES = [1, 10, 100, 1000]
SEND_ID = "snd_01ARZ3NDEKTSV4RRFFQ69G5FAV"
BLOCK = (
    '<tr><td style="padding:8px 16px;font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#333">'
    "<h2>Order {{ order }}, item {{ i }}</h2><p>Hi {{ firstName }}, thanks for your order. It ships in "
    "{{ days }} days from our warehouse; you can follow it at any time.</p><p>"
    '<a href="https://shop.example.com/orders/{{ order }}?utm_source=email&amp;utm_medium=receipt">Your order</a> · '
    '<a href="https://shop.example.com/track/{{ order }}">Tracking</a> · '
    '<a href="https://shop.example.com/help">Help centre</a> · '
    '<a href="mailto:support@shop.example.com">Write to us</a> · '
    '<a href="{{ unsubscribeUrl }}">Unsubscribe</a></p><p>Subtotal 12.00 EUR, shipping 3.50 EUR, '
    "total 15.50 EUR (VAT included). Keep this email as your receipt.</p>"
    '<img src="https://shop.example.com/logo.png" alt="Shop" width="120"></td></tr>'
) * 2
SUBJECT = "Your order {{ order }} has shipped, {{ firstName }}: "
VARIABLES = {"firstName": "Alice", "order": "A-10042", "days": 2}


def best_time(call: Callable[[], Any], budget: float = 0.5) -> float:
    """The fastest of several calls (at least three, or as many as fit the budget); one call
    when it takes seconds (the quadratic code on hostile input)."""
    times: list[float] = []
    while not times or (times[0] < 2 and (len(times) < 3 or (sum(times) < budget and len(times) < 50))):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def series(
    name: str,
    make_input: Callable[[int], Any],
    run: Callable[[Any], Any],
    *,
    size: Callable[[Any], int] = len,
    quadratic: bool = False,
) -> dict[str, Any]:
    """Times `run` on `make_input(scale)` for each scale. For code that may be quadratic, stops
    before a size whose call would take more than 30 s (by the square of the size ratio)."""
    sizes: list[int] = []
    seconds: list[float] = []
    for scale in SCALES:
        if quadratic and seconds and seconds[-1] * (scale / SCALES[len(seconds) - 1]) ** 2 > 30:
            break
        data = make_input(scale)
        sizes.append(size(data))
        seconds.append(best_time(lambda data=data: run(data)))
    ratios = [round((t / seconds[0]) / (s / sizes[0]), 2) for s, t in zip(sizes, seconds, strict=True)]
    return {"pass": name, "bytes": sizes, "seconds": [round(t, 6) for t in seconds], "ratio": ratios}


def old_code() -> types.ModuleType | None:
    """templates_app.rendering and .text as they were at BEFORE (None outside a git checkout)."""
    module = types.ModuleType("before")
    try:
        # rendering first: its `from templates_app.text import html_to_text` must not win
        for path in ("templates_app/rendering.py", "templates_app/text.py"):
            source = subprocess.run(
                ["git", "show", f"{BEFORE}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
            )
            exec(compile(source.stdout, f"{BEFORE}:{path}", "exec"), module.__dict__)
    except (subprocess.CalledProcessError, OSError):
        return None
    return module


def main() -> None:
    import os

    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from liquid import Environment

    from templates_app import rendering
    from templates_app.rendering import MAX_EMAIL_BYTES, EmailTooLarge, Recipient, render_email
    from templates_app.text import html_to_text

    plain = Environment()
    html = plain.from_string(BLOCK).render(**VARIABLES, i=1, unsubscribeUrl="https://127.0.0.1:8000/unsubscribe/x")
    subject = plain.from_string(SUBJECT).render(**VARIABLES)

    def normal_html(scale: int) -> str:
        return html * scale

    def hostile_html(scale: int) -> str:
        return "<a " * (len(html) * scale // 3)

    def normal_subject(scale: int) -> str:
        return subject * scale

    def hostile_subject(scale: int) -> str:
        return "Hi " + " " * (len(subject) * scale) + "x"

    def template(scale: int) -> Any:
        body = f"<table>{{% for i in (1..{scale}) %}}{BLOCK}{{% endfor %}}</table>"
        checked = rendering.check_template_source(subject=SUBJECT, mjml=None, html=body, text=None)
        return types.SimpleNamespace(subject=SUBJECT, html=body, text=None, text_template=checked.text_template)

    recipient = Recipient(email="alice@example.com", contact_id="cnt_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    passes = {
        "subject clean-up": (normal_subject, hostile_subject, "_one_line"),
        "link rewriting": (normal_html, hostile_html, "add_tracking"),
        "text derivation": (normal_html, hostile_html, "html_to_text"),
    }
    now = {
        "_one_line": rendering._one_line,
        "add_tracking": lambda h: rendering.add_tracking(h, SEND_ID),
        "html_to_text": html_to_text,
    }
    before = old_code()
    results = []
    for name, (normal, hostile, function) in passes.items():
        for kind, make in (("normal", normal), ("hostile", hostile)):
            results.append({**series(name, make, now[function]), "input": kind, "code": "now"})
            if before is not None:
                old = getattr(before, function)
                run = (lambda h, old=old: old(h, SEND_ID)) if function == "add_tracking" else old
                results.append({**series(name, make, run, quadratic=True), "input": kind, "code": f"before ({BEFORE})"})

    def email_size(t: Any) -> int:
        """Bytes of HTML and text; 1000x is over the 2 MB limit, so its time is the time to refuse it."""
        try:
            email = render_email(t, recipient=recipient, variables=VARIABLES)
        except EmailTooLarge as exc:
            return exc.size
        return len(email.html.encode()) + len(email.text.encode())

    def send_render(t: Any) -> None:
        with contextlib.suppress(EmailTooLarge):
            render_email(t, recipient=recipient, variables=VARIABLES, send_id=SEND_ID)

    whole = series("whole send render", template, send_render, size=email_size)
    refused = [size > MAX_EMAIL_BYTES for size in whole["bytes"]]
    results.append({**whole, "input": "normal", "code": "now", "refused_over_2_MB": refused})
    print(
        json.dumps(
            {"machine": machine(), "date": date.today().isoformat(), "typical_bytes": len(html), "results": results},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
