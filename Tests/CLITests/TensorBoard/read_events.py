#!/usr/bin/env python3
# Reads the TensorBoard event files in a folder as TensorBoard does (its EventAccumulator, which
# checks every record's CRCs, with every scalar kept) and prints them as one JSON object:
# {"file_version": "brain.Event:2", "files": [names], "scalars": {tag: [[step, value], ...]}}.
# Usage: read_events.py DIR. Exits 2 with what to install when the tensorboard package is missing.
import json
import os
import sys

try:
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator
except ImportError as error:
    print(f"the tensorboard Python package is not importable ({error}): pip install tensorboard", file=sys.stderr)
    sys.exit(2)

folder = sys.argv[1]
accumulator = EventAccumulator(folder, size_guidance={SCALARS: 0})
accumulator.Reload()
print(json.dumps({
    "file_version": accumulator.file_version,
    "files": sorted(name for name in os.listdir(folder) if "tfevents" in name),
    "scalars": {
        tag: [[event.step, event.value] for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()[SCALARS]
    },
}))
