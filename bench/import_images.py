"""Import benchmark: a folder of label folders (zipped first, to exercise the ZIP path) or a
ZIP of one, imported into a throw-away project with its own data dir, database and media.

    python -m bench.import_images ../shared/datasets/clothing-small/train

The last line printed is one JSON object: images, seconds, images_per_s, peak_rss_mb, ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
import zipfile
from pathlib import Path

from bench.common import use_throwaway_data_dir


def _zip_folder(folder: Path, target: Path) -> int:
    """Zip like a user would (deflate); returns the number of files."""
    count = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder))
                count += 1
    return count


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="folder of label folders, or a ZIP of one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args(argv)
    if not args.path.exists():
        parser.error(f"{args.path} does not exist")

    tmp = use_throwaway_data_dir("import")
    try:
        import django

        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command

        from datasets.services import dataset_import_archive, dataset_scan_archive
        from datasets.services.imports import _workers
        from projects.services import project_create

        call_command("migrate", verbosity=0)
        zip_seconds = 0.0
        if args.path.is_dir():
            archive = tmp / "dataset.zip"
            t = time.perf_counter()
            files = _zip_folder(args.path, archive)
            zip_seconds = time.perf_counter() - t
            print(f"zipped {files} files in {zip_seconds:.1f} s", file=sys.stderr)
        else:
            archive = args.path
        owner = User.objects.create_user("bench")
        project = project_create(owner=owner, name="Import benchmark")
        t = time.perf_counter()
        plan = dataset_scan_archive(archive_path=archive)
        report = dataset_import_archive(
            project=project,
            archive_path=archive,
            label_map={},
            loose_label=None,
            user=owner,
            create_labels=list(plan.labels),
        )
        seconds = time.perf_counter() - t
        images = report.accepted_count
        result = {
            "bench": "import_images",
            "images": images,
            "labels": len(report.accepted),
            "duplicates": report.duplicates_count,
            "rejected": report.rejected_count,
            "archive_mb": round(archive.stat().st_size / 2**20, 1),
            "zip_seconds": round(zip_seconds, 2),
            "seconds": round(seconds, 2),
            "images_per_s": round(images / seconds, 1) if seconds else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "decode_threads": _workers(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }
        print(report.summary(), file=sys.stderr)
        print(json.dumps(result))
        return result
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
