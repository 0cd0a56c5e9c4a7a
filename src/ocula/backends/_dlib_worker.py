"""A face-embedding worker process (see dlib_face.WorkerPool). Run as a script, not imported:
it needs only dlib and numpy, and a fresh interpreter never re-runs the caller's ``__main__``.

Protocol on stdin/stdout, little-endian: in ``<I n`` then n 150x150x3 uint8 chips; out ``<I n``
then n x 128 float32, or ``<I 0xFFFFFFFF`` ``<I size`` and a UTF-8 error message. EOF on
stdin (the parent closed the pipe or died) ends the process.
"""

import struct
import sys

import numpy as np


def _read(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def main(model: str) -> None:
    import dlib

    net = dlib.face_recognition_model_v1(model)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            (n,) = struct.unpack("<I", _read(inp, 4))
            chips = np.frombuffer(_read(inp, n * 150 * 150 * 3), np.uint8).reshape(n, 150, 150, 3)
        except EOFError:
            return
        try:
            vecs = net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
            reply = np.asarray([np.asarray(v) for v in vecs], np.float32).reshape(n, 128).tobytes()
            out.write(struct.pack("<I", n) + reply)
        except Exception as e:  # the parent reports it as one line
            msg = f"{type(e).__name__}: {e}".encode()
            out.write(struct.pack("<II", 0xFFFFFFFF, len(msg)) + msg)
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
