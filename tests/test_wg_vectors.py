"""The WireGuard handshake of tunnel/wg-*.c against a reference written here
in Python from the whitepaper alone (hashlib's BLAKE2s, hmac, and
python3-cryptography's X25519 and ChaCha20-Poly1305): either side initiates,
with and without a preshared key; both must derive the same transport keys
and open each other's data messages.  The C protocol core has no sockets, so
it is loaded here as a shared library built from its sources."""

import ctypes
import hashlib
import hmac
import os
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import (X25519PrivateKey,
                                                              X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

from vswlab import ROOT

SOURCES = ["wg-hash.c", "wg-key.c", "wg-proto.c", "wg-noise.c", "wg-cookie.c",
           "wg-replay.c"]

# --- the whitepaper, section 5.4 -------------------------------------------

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"


def HASH(x):
    return hashlib.blake2s(x).digest()


def MAC(key, x):
    return hashlib.blake2s(x, key=key, digest_size=16).digest()


def HMAC(key, x):
    return hmac.new(key, x, hashlib.blake2s).digest()


def KDF(n, key, x):
    t0, t, out = HMAC(key, x), b"", []
    for i in range(1, n + 1):
        t = HMAC(t0, t + bytes([i]))
        out.append(t)
    return out


def DH(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pub))


def PUB(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def AEAD(key, counter, plain, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, ad)


def AEAD_OPEN(key, counter, sealed, ad):
    return ChaCha20Poly1305(key).decrypt(b"\0" * 4 + struct.pack("<Q", counter), sealed, ad)


def macs(msg, receiver_pub):
    return msg + MAC(HASH(b"mac1----" + receiver_pub), msg) + bytes(16)


def py_init_create(s_priv, r_pub, sender, ts):
    """Initiator: (message, state for the response)."""
    c = HASH(CONSTRUCTION)
    h = HASH(HASH(c + IDENTIFIER) + r_pub)
    e_priv = os.urandom(32)
    e_pub = PUB(e_priv)
    c = KDF(1, c, e_pub)[0]
    h = HASH(h + e_pub)
    c, k = KDF(2, c, DH(e_priv, r_pub))
    static = AEAD(k, 0, PUB(s_priv), h)
    h = HASH(h + static)
    c, k = KDF(2, c, DH(s_priv, r_pub))
    stamp = AEAD(k, 0, ts, h)
    h = HASH(h + stamp)
    msg = struct.pack("<II", 1, sender) + e_pub + static + stamp
    return macs(msg, r_pub), (c, h, e_priv)


def py_init_consume(s_priv, msg):
    """Responder: (initiator's static key, timestamp, sender, state)."""
    assert len(msg) == 148 and msg[:4] == b"\1\0\0\0"
    s_pub = PUB(s_priv)
    assert msg[116:132] == MAC(HASH(b"mac1----" + s_pub), msg[:116])
    sender = struct.unpack("<I", msg[4:8])[0]
    e_pub = msg[8:40]
    c = HASH(CONSTRUCTION)
    h = HASH(HASH(c + IDENTIFIER) + s_pub)
    c = KDF(1, c, e_pub)[0]
    h = HASH(h + e_pub)
    c, k = KDF(2, c, DH(s_priv, e_pub))
    i_pub = AEAD_OPEN(k, 0, msg[40:88], h)
    h = HASH(h + msg[40:88])
    c, k = KDF(2, c, DH(s_priv, i_pub))
    ts = AEAD_OPEN(k, 0, msg[88:116], h)
    h = HASH(h + msg[88:116])
    return i_pub, ts, sender, (c, h, e_pub)


def py_resp_create(state, i_pub, psk, sender, receiver):
    """Responder: (message, (send key, receive key))."""
    c, h, ie_pub = state
    e_priv = os.urandom(32)
    e_pub = PUB(e_priv)
    c = KDF(1, c, e_pub)[0]
    h = HASH(h + e_pub)
    c = KDF(1, c, DH(e_priv, ie_pub))[0]
    c = KDF(1, c, DH(e_priv, i_pub))[0]
    c, tau, k = KDF(3, c, psk)
    h = HASH(h + tau)
    empty = AEAD(k, 0, b"", h)
    msg = struct.pack("<III", 2, sender, receiver) + e_pub + empty
    recv, send = KDF(2, c, b"")
    return macs(msg, i_pub), (send, recv)


def py_resp_consume(state, s_priv, psk, msg):
    """Initiator: (send key, receive key, responder's sender index)."""
    c, h, e_priv = state
    assert len(msg) == 92 and msg[:4] == b"\2\0\0\0"
    assert msg[60:76] == MAC(HASH(b"mac1----" + PUB(s_priv)), msg[:60])
    er_pub = msg[12:44]
    c = KDF(1, c, er_pub)[0]
    h = HASH(h + er_pub)
    c = KDF(1, c, DH(e_priv, er_pub))[0]
    c = KDF(1, c, DH(s_priv, er_pub))[0]
    c, tau, k = KDF(3, c, psk)
    h = HASH(h + tau)
    assert AEAD_OPEN(k, 0, msg[44:60], h) == b""
    send, recv = KDF(2, c, b"")
    return send, recv, struct.unpack("<I", msg[4:8])[0]


def py_data(key, receiver, counter, packet):
    pad = packet + bytes(-len(packet) % 16)
    return struct.pack("<IIQ", 4, receiver, counter) + AEAD(key, counter, pad, b"")


# --- the C side ---------------------------------------------------------------

class Keypair(ctypes.Structure):
    _fields_ = [("send_key", ctypes.c_uint8 * 32), ("recv_key", ctypes.c_uint8 * 32),
                ("local_index", ctypes.c_uint32), ("remote_index", ctypes.c_uint32),
                ("initiator", ctypes.c_bool)]


LOOKUP = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8),
                          ctypes.POINTER(ctypes.c_void_p))


@pytest.fixture(scope="module")
def wg(tmp_path_factory):
    so = tmp_path_factory.mktemp("wg") / "libwgproto.so"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libsodium", "libb2"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-fPIC", "-shared", "-I", ROOT,
                    "-o", so] + [ROOT / "tunnel" / s for s in SOURCES] + flags, check=True)
    lib = ctypes.CDLL(str(so))
    assert lib.sodium_init() >= 0
    lib.wg_mac1_ok.restype = ctypes.c_bool
    lib.wg_data_seal.restype = ctypes.c_size_t
    lib.wg_data_seal.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p,
                                 ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p,
                                 ctypes.c_void_p]
    lib.wg_data_open.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_size_t)]
    lib.wg_macs_fill.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_size_t, ctypes.c_uint64]
    return lib


class CSide:
    """An identity in C with one peer (the Python side)."""

    def __init__(self, wg, priv, peer_pub, psk):
        self.wg = wg
        self.id = ctypes.create_string_buffer(512)
        self.peer = ctypes.create_string_buffer(512)
        self.hs = ctypes.create_string_buffer(512)
        self.jar = ctypes.create_string_buffer(256)
        self.kp = Keypair()
        assert wg.wg_identity_init(self.id, priv) == 0
        assert wg.wg_peer_keys_init(self.peer, self.id, peer_pub, psk) == 0
        self.peer_pub = peer_pub

        def lookup(arg, pub, peer_arg):
            if bytes(pub[:32]) != self.peer_pub:
                return None
            peer_arg[0] = 7
            return ctypes.addressof(self.peer)
        self.lookup = LOOKUP(lookup)

    def macs_fill(self, msg):
        buf = ctypes.create_string_buffer(msg, len(msg))
        self.wg.wg_macs_fill(self.jar, self.peer, buf, len(msg), 0)
        return buf.raw

    def open(self, msg):
        buf = ctypes.create_string_buffer(msg, len(msg))
        counter, plen = ctypes.c_uint64(), ctypes.c_size_t()
        assert self.wg.wg_data_open(ctypes.byref(self.kp), buf, len(msg), ctypes.byref(counter),
                                    ctypes.byref(plen)) == 0
        return counter.value, buf.raw[16:16 + plen.value]

    def seal(self, counter, packet):
        buf = ctypes.create_string_buffer(16 + len(packet) + 32)
        n = self.wg.wg_data_seal(ctypes.byref(self.kp), counter, packet, len(packet), 1420, buf,
                                 ctypes.byref(buf, 16))
        return buf.raw[:16 + n]


@pytest.mark.parametrize("psk", [None, b"\x42" * 32], ids=["no-psk", "psk"])
def test_python_initiates(wg, psk):
    py_priv, c_priv = os.urandom(32), os.urandom(32)
    c = CSide(wg, c_priv, PUB(py_priv), psk)
    ts = struct.pack(">QI", 0x400000000000000a + 1700000000, 123456789)
    init, state = py_init_create(py_priv, PUB(c_priv), 0x01020304, ts)
    assert wg.wg_mac1_ok(c.id, init, len(init))
    peer_arg, got_ts = ctypes.c_void_p(), ctypes.create_string_buffer(12)
    assert wg.wg_init_consume(c.hs, c.id, init, c.lookup, None, ctypes.byref(peer_arg),
                              got_ts) == 0
    assert peer_arg.value == 7 and got_ts.raw == ts

    resp = ctypes.create_string_buffer(92)
    wg.wg_resp_create(c.hs, c.peer, ctypes.c_uint32(0xa0b0c0d0), resp, ctypes.byref(c.kp))
    send, recv, sender = py_resp_consume(state, py_priv, psk or bytes(32), c.macs_fill(resp.raw))
    assert sender == 0xa0b0c0d0 and c.kp.remote_index == 0x01020304
    assert bytes(c.kp.recv_key) == send and bytes(c.kp.send_key) == recv

    assert c.open(py_data(send, 0xa0b0c0d0, 9, b"hello")) == (9, b"hello" + bytes(11))
    sealed = c.seal(3, b"world")
    assert struct.unpack("<IIQ", sealed[:16]) == (4, 0x01020304, 3)
    assert AEAD_OPEN(recv, 3, sealed[16:], b"") == b"world" + bytes(11)


@pytest.mark.parametrize("psk", [None, b"\x42" * 32], ids=["no-psk", "psk"])
def test_c_initiates(wg, psk):
    py_priv, c_priv = os.urandom(32), os.urandom(32)
    c = CSide(wg, c_priv, PUB(py_priv), psk)
    ts = ctypes.create_string_buffer(12)
    wg.wg_timestamp_now(ts)
    init = ctypes.create_string_buffer(148)
    wg.wg_init_create(c.hs, c.id, c.peer, ctypes.c_uint32(0x11111111), ts, init)
    i_pub, got_ts, sender, state = py_init_consume(py_priv, c.macs_fill(init.raw))
    assert i_pub == PUB(c_priv) and got_ts == ts.raw and sender == 0x11111111
    secs, nsec = struct.unpack(">QI", got_ts)
    assert secs >= 0x400000000000000a + 1700000000 and nsec < 10**9

    resp, (send, recv) = py_resp_create(state, i_pub, psk or bytes(32), 0x22222222, sender)
    assert wg.wg_mac1_ok(c.id, resp, len(resp))
    assert wg.wg_resp_consume(c.hs, c.id, c.peer, resp, ctypes.byref(c.kp)) == 0
    assert c.kp.initiator and c.kp.local_index == 0x11111111
    assert c.kp.remote_index == 0x22222222
    assert bytes(c.kp.send_key) == recv and bytes(c.kp.recv_key) == send

    assert c.open(py_data(send, 0x11111111, 0, b"")) == (0, b"")
    sealed = c.seal(1, b"x" * 100)
    assert AEAD_OPEN(recv, 1, sealed[16:], b"") == b"x" * 100 + bytes(12)


def test_psk_mismatch(wg):
    py_priv, c_priv = os.urandom(32), os.urandom(32)
    c = CSide(wg, c_priv, PUB(py_priv), b"\x42" * 32)
    init, state = py_init_create(py_priv, PUB(c_priv), 5, bytes(12))
    peer_arg, got_ts = ctypes.c_void_p(), ctypes.create_string_buffer(12)
    assert wg.wg_init_consume(c.hs, c.id, init, c.lookup, None, ctypes.byref(peer_arg),
                              got_ts) == 0
    resp = ctypes.create_string_buffer(92)
    wg.wg_resp_create(c.hs, c.peer, ctypes.c_uint32(6), resp, ctypes.byref(c.kp))
    with pytest.raises(Exception):
        py_resp_consume(state, py_priv, bytes(32), c.macs_fill(resp.raw))


def test_public_keys(wg):
    for _ in range(8):
        priv = os.urandom(32)
        pub = ctypes.create_string_buffer(32)
        assert wg.wg_key_public(pub, priv) == 0
        assert pub.raw == PUB(priv)
