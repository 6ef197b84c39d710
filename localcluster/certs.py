"""The key material a TLS-only, RBAC-enforcing control plane needs, generated fresh per start.

kube-apiserver serves only HTTPS and authenticates clients by certificate, like a real cluster,
so tests exercise the same TLS and RBAC paths as production. Two CAs are kept apart as in
kubeadm: the serving CA (apiserver and node-agent serving certs, trusted by clients) and the
client CA (admin and apiserver-to-kubelet client certs, trusted by the apiserver and the node
agent). Keys are ECDSA P-256 because they are quick to generate on every start.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
SERVICE_IP = "10.0.0.1"
SERVING_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
SERVING_ADDRESSES = ("127.0.0.1", SERVICE_IP)


@dataclasses.dataclass(frozen=True)
class Pki:
    """File paths of the generated material, all under one directory."""

    directory: Path

    def path(self, name: str) -> Path:
        """A file in the PKI directory."""
        return self.directory / name

    @property
    def serving_ca(self) -> Path:
        return self.path("serving-ca.crt")

    @property
    def client_ca(self) -> Path:
        return self.path("client-ca.crt")

    @property
    def service_account_key(self) -> Path:
        return self.path("service-account.key")

    @property
    def service_account_public_key(self) -> Path:
        return self.path("service-account.pub")


@dataclasses.dataclass(frozen=True)
class _Authority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _authority(common_name: str) -> _Authority:
    key = _new_key()
    name = _name(common_name)
    certificate = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _Authority(key, certificate)


def _leaf(
    authority: _Authority,
    subject: x509.Name,
    *,
    usage: x509.ObjectIdentifier,
    names: tuple[str, ...] = (),
    addresses: tuple[str, ...] = (),
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _new_key()
    builder = (
        _builder(subject, authority.certificate.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    alternatives: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alternatives += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
    if alternatives:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    return key, builder.sign(authority.key, hashes.SHA256())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _write_pair(
    pki: Pki, stem: str, pair: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> None:
    _write_key(pki.path(f"{stem}.key"), pair[0])
    _write_certificate(pki.path(f"{stem}.crt"), pair[1])


def generate(directory: Path, *, node_names: tuple[str, ...] = ()) -> Pki:
    """Write both CAs, the serving, admin, kubelet-client and node-serving pairs, and the SA keys.

    `node_names` are extra DNS names for the node agent's serving certificate (its hostname).
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    pki = Pki(directory)
    serving_authority = _authority("localcluster-serving-ca")
    client_authority = _authority("localcluster-client-ca")
    _write_certificate(pki.serving_ca, serving_authority.certificate)
    _write_certificate(pki.client_ca, client_authority.certificate)
    server = ExtendedKeyUsageOID.SERVER_AUTH
    client = ExtendedKeyUsageOID.CLIENT_AUTH
    _write_pair(
        pki,
        "apiserver",
        _leaf(
            serving_authority,
            _name("kube-apiserver"),
            usage=server,
            names=SERVING_NAMES,
            addresses=SERVING_ADDRESSES,
        ),
    )
    _write_pair(
        pki,
        "node-serving",
        _leaf(
            serving_authority,
            _name("localcluster-node"),
            usage=server,
            names=("localhost", *node_names),
            addresses=("127.0.0.1",),
        ),
    )
    _write_pair(
        pki, "admin", _leaf(client_authority, _name("admin", "system:masters"), usage=client)
    )
    _write_pair(
        pki,
        "apiserver-kubelet-client",
        _leaf(
            client_authority, _name("kube-apiserver-kubelet-client", "system:masters"), usage=client
        ),
    )
    service_account = _new_key()
    _write_key(pki.service_account_key, service_account)
    pki.service_account_public_key.write_bytes(
        service_account.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki
