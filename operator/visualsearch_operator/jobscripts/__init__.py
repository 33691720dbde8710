"""Scripts the indexing Job runs inside the platform image (``python -c`` / ``sh -c``).

They are modules so they ship with the package and lint like the rest, but they import only
what the platform image has (the standard library, ``minio``, ``visualsearch``), never the
operator. :func:`source_of` hands their text to the Job builder.
"""

from __future__ import annotations

from importlib import resources

SYNC_SH = r"""
set -u
feed="$1"; prune="$2"; state="$3"
if [ "$feed" = "--demo" ]; then
  visualsearch seed --demo --no-progress >/tmp/seed.log 2>&1
else
  visualsearch seed --file "$feed" --no-progress >/tmp/seed.log 2>&1
fi
rc=$?
cat /tmp/seed.log
# 2: some rows were rejected; they are reported (productsFailed), not retried.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then exit "$rc"; fi
summary=$(grep -E '^[0-9]+ rows:' /tmp/seed.log | tail -n 1)
python -c "$VS_TRACK_SCRIPT" "$feed" "$prune" "$state" >/tmp/track.log 2>&1 || {
  cat /tmp/track.log; exit 1; }
cat /tmp/track.log
printf '%s\n%s\n' "$summary" "$(tail -n 1 /tmp/track.log)" >/dev/termination-log
"""
"""The seed container's script: seed, then record (and prune) what the source delivered."""


def source_of(module: str) -> str:
    """The text of one script module of this package (``fetch_feed``, ``track``)."""
    return resources.files(__package__).joinpath(f"{module}.py").read_text()
