"""gunicorn settings for bench/webhook_load.py: each worker starts with the SNS signing
certificate already cached, as a worker does after its first notification."""

import os


def post_fork(server: object, worker: object) -> None:
    import django

    django.setup()
    from cryptography import x509

    from sends.engagement import sns

    with open(os.environ["BENCH_SNS_CERT"], "rb") as handle:
        sns._certificates[os.environ["BENCH_SNS_CERT_URL"]] = x509.load_pem_x509_certificate(handle.read())
