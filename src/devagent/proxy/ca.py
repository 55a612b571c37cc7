"""The per-project certificate authority the proxy signs intercepted connections with.

devagent creates it on the host before anything is built, so that the app image can trust
it from its first start. The private key stays in the project's ``proxy-certs`` directory,
which only the proxy container mounts; the app gets the public certificate alone.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from devagent.safefs import replace_file

# The file names mitmproxy looks for in its confdir.
CA_BUNDLE = "mitmproxy-ca.pem"  # private key + certificate: proxy only
CA_CERT = "mitmproxy-ca-cert.pem"  # public certificate


def ensure_ca(directory: Path, *, common_name: str) -> Path:
    """Create the CA in ``directory`` unless it exists; return the public certificate path."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    bundle, cert_path = directory / CA_BUNDLE, directory / CA_CERT
    if bundle.exists() and cert_path.exists():
        return cert_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "devagent sandbox proxy"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    # Each file whole or not at all (an interrupted create makes a new pair next time).
    replace_file(bundle, key_pem + cert_pem, mode=0o600)
    replace_file(cert_path, cert_pem, mode=0o644)
    return cert_path
