"""The same new image stored by several processes at once (issue 19, found by the soak).

bench/soak.py makes its posts in four processes, each with the same image: the image store
wrote every copy through one temporary file named after the hash, so one process's rename took
the file from under another (FileNotFoundError, a failed upload) and one process could empty
the file after another had put it in place (a stored image briefly cut short). Two officers
uploading the same picture at once on two web workers do the same.
"""

from __future__ import annotations

import hashlib
import multiprocessing

from gateway.posts import images

PROCESSES = 4
ROUNDS = 40


def _store_all(folder: str, barrier, blobs: list[bytes], failures) -> None:  # noqa: ANN001
    for data in blobs:
        barrier.wait()  # every process stores this image at the same moment
        try:
            images.write_once(images.Path(folder), data, hashlib.sha256(data).hexdigest())
        except Exception as exc:  # noqa: BLE001 - reported to the test
            failures.put(f"{type(exc).__name__}: {exc}")


def test_the_same_image_stored_by_several_processes_at_once(tmp_path):
    blobs = [bytes([i]) * (256 * 1024) + str(i).encode() for i in range(ROUNDS)]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    failures = context.Queue()
    workers = [
        context.Process(target=_store_all, args=(str(tmp_path), barrier, blobs, failures))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    found = []
    while not failures.empty():
        found.append(failures.get())
    assert found == []
    assert all(worker.exitcode == 0 for worker in workers)
    for data in blobs:
        assert (tmp_path / hashlib.sha256(data).hexdigest()).read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        hashlib.sha256(d).hexdigest() for d in blobs
    )  # no temporary file left behind
