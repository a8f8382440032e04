"""POST /api/send under gunicorn, load from a second process on loopback.

    .venv/bin/python bench/send_load.py --rates 200,250 --seconds 60

Target (issue 3): at least 200 requests/s with p99 at most 50 ms and no errors.
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import PYTHON, ROOT, Gunicorn, cpu_by_program, flush_redis, machine, setup_django


def prepare() -> str:
    from kraiter.models import Organisation
    from kraiter.services import api_key_create, organisation_create
    from templates_app.services import TemplateInput, template_upsert

    organisation = Organisation.objects.filter(name="Send load").first() or organisation_create(
        name="Send load", sending_status="enabled"
    )
    template_upsert(
        organisation=organisation,
        slug="receipt",
        data=TemplateInput(
            name="Receipt",
            subject="Your receipt {{ orderId }}",
            mjml=(
                "<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ firstName }}, thanks for order {{ orderId }}."
                "</mj-text><mj-button href='https://example.com/orders'>View order</mj-button>"
                "<mj-text><a href='{{ unsubscribeUrl }}'>Unsubscribe</a></mj-text>"
                "</mj-column></mj-section></mj-body></mjml>"
            ),
            html=None,
            text=None,
            variables=["firstName", "orderId"],
        ),
    )
    from kraiter.models import ApiKey

    ApiKey.objects.filter(organisation=organisation).delete()
    return api_key_create(organisation=organisation, name="bench").raw_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="200,250")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8001, help="gunicorn's port")
    args = parser.parse_args()
    setup_django()
    key = prepare()
    body = Path(tempfile.mkdtemp()) / "send.json"
    body.write_text(json.dumps({"to": "customer{n}@example.com", "templateId": "receipt",
                                "variables": {"firstName": "Ann", "orderId": "#{n}"}}))  # fmt: skip
    server = Gunicorn(port=args.port, workers=args.workers, threads=args.threads)
    print(f"machine: {machine()}; gunicorn {args.workers} workers x {args.threads} threads")
    try:
        for rate in [float(r) for r in args.rates.split(",")]:
            flush_redis()
            command = [
                PYTHON, "bench/loadgen.py", "--url", f"http://127.0.0.1:{args.port}/api/send", "--rate", str(rate),
                "--seconds", str(args.seconds), "--connections", "64",
                "--header", f"Authorization: Bearer {key}", "--header", "Content-Type: application/json",
                "--body-file", str(body),
            ]  # fmt: skip
            subprocess.run([*command[:6], "5", *command[8:]], cwd=ROOT, capture_output=True)  # warm up
            before = cpu_by_program()
            output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
            after = cpu_by_program()
            result = json.loads(output)
            cpu_ms = {name: round((after[name] - before[name]) * 1000 / result["requests"], 2) for name in after}
            print(json.dumps({"target_rate": rate, **result, "cpu_ms_per_request": cpu_ms}))
            time.sleep(2)
    finally:
        server.stop()
        flush_redis()


if __name__ == "__main__":
    main()
