"""Tutorial-style TCP servers, one thread per connection. argv[1]: a file to write the port to;
argv[2]: the behaviour.

once  reads one line, answers "echo: <line>" and closes (the tutorial server)
404   answers every request (up to its blank line) with an HTTP/1.1 404 and keeps the connection
slow  echoes each line 200 ms after the one before (a server that works through a pipeline slowly)
"""
import os
import socket
import sys
import threading


def once(connection):
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    connection.sendall(b"echo: " + data)
    connection.close()


def answer_each(connection, delimiter, answer):
    """Answers every message up to `delimiter` with answer(message), until the client closes."""
    data = b""
    while True:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
        while delimiter in data:
            message, data = data.split(delimiter, 1)
            connection.sendall(answer(message))
    connection.close()


def not_found(connection):
    answer_each(connection, b"\r\n\r\n", lambda _: b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")


def slow(connection):
    import time

    def later(line):
        time.sleep(0.2)
        return line + b"\n"
    answer_each(connection, b"\n", later)


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(128)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
handler = {"once": once, "404": not_found, "slow": slow}[sys.argv[2]]
while True:
    connection, _ = server.accept()
    threading.Thread(target=handler, args=(connection,), daemon=True).start()
