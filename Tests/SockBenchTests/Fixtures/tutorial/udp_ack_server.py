"""The tutorial's UDP server: answers every datagram with b"ack: " + the text it got.

Written the way the tutorial writes it (it decodes the datagram as UTF-8, so binary filler
crashes it). Binds 127.0.0.1:0 and writes the port it got to the file named by argv[1].
"""
import socket
import sys

server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    data, address = server.recvfrom(4096)
    text = data.decode("utf-8")
    server.sendto(("ack: " + text).encode("utf-8"), address)
