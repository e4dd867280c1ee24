"""Snapshot downloads, shared by the pages and the API: streamed, never read whole, each with
its sha256 (as `ETag`, `X-Checksum-SHA256` and RFC 9530's `Content-Digest`). A file (the
gzipped tar among them) streams from the storage; the plain tar is assembled as it streams."""

import base64

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.http.response import HttpResponseBase

from exports import dolly, selectors
from exports.models import Snapshot, SnapshotStatus
from exports.services import snapshot_storage
from exports.services.snapshots.retention import PRUNED_TEXT

CONTENT_TYPES = {
    ".jsonl": "application/jsonl; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".tar": "application/x-tar",
    ".gz": "application/gzip",
    ".parquet": "application/vnd.apache.parquet",
}


def snapshot_or_404(snapshot_id) -> Snapshot:
    """A snapshot by id, or the newest ready one for "latest"."""
    if snapshot_id == "latest":
        snapshot = selectors.snapshot_latest()
    else:
        try:
            snapshot = selectors.snapshot_list().filter(pk=int(snapshot_id)).first()
        except (TypeError, ValueError):
            snapshot = None
    if snapshot is None:
        raise Http404(
            "No such snapshot."
            if snapshot_id != "latest"
            else "No snapshot of all the data is ready."
        )
    return snapshot


def file_response(snapshot: Snapshot, name: str) -> HttpResponseBase:
    """Stream one file of a ready snapshot (a name in its data/ folder too), the gzipped tar, or
    the whole snapshot as a tar."""
    item = snapshot.file(name)
    if item is None:
        if snapshot.status == SnapshotStatus.PRUNED:
            raise Http404(f"Snapshot v{snapshot.version} is pruned: {PRUNED_TEXT}.")
        if not snapshot.is_ready:
            raise Http404(f"Snapshot v{snapshot.version} is {snapshot.status}, not ready.")
        raise Http404(f"Snapshot v{snapshot.version} has no file {name!r}.")
    storage = snapshot_storage()
    missing = [
        f["name"]
        for f in (snapshot.files if name == snapshot.archive.get("name") else [item])
        if not storage.exists(f"{snapshot.directory}/{f['name']}")
    ]
    if missing:  # removed by hand, or a storage other machines do not share
        raise Http404(f"Snapshot v{snapshot.version}'s {', '.join(missing)} is not in storage.")
    if name == snapshot.archive.get("name"):
        response = StreamingHttpResponse(
            dolly.archive_stream(
                folder=snapshot.directory,
                members=[(f["name"], f["size"]) for f in snapshot.files],
                opener=dolly.storage_opener(storage, snapshot.directory),
                mtime=snapshot.archive["mtime"],
            ),
            content_type=CONTENT_TYPES[".tar"],
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    else:
        handle = storage.open(f"{snapshot.directory}/{name}", "rb")
        response = FileResponse(handle, as_attachment=True, filename=name.rsplit("/", 1)[-1])
        response["Content-Type"] = CONTENT_TYPES.get(name[name.rfind(".") :], "text/plain")
    response["Content-Length"] = str(item["size"])
    response["ETag"] = f'"{item["sha256"]}"'
    response["X-Checksum-SHA256"] = item["sha256"]
    digest = base64.b64encode(bytes.fromhex(item["sha256"])).decode()
    response["Content-Digest"] = f"sha-256=:{digest}:"
    return response
