#!/usr/bin/env python3
"""Checks that a finished run.h5 or sweep.h5 opens in HDF5 viewers as documented.

    python3 tests/check_viewer_h5.py FILE.h5

Every dataset: `units` and `description` attributes and a label on every
axis; a growing series (unlimited first axis) that is not itself an axis has
a dimension scale on axis 0 as long as it is. The root's `default` attribute
chain ends at an NXdata group whose signal and axes exist and fit. Prints one
line per problem and exits 1, or prints "ok" and exits 0. Exits 77 when h5py
is missing (the caller skips).
"""
import sys

try:
    import h5py
except ImportError:
    print("h5py is not installed")
    sys.exit(77)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def check_dataset(name, ds, problems):
    for attr in ("units", "description"):
        if attr not in ds.attrs:
            problems.append(f"{name}: no {attr} attribute")
    if ds.attrs.get("description", b"") in (b"", ""):
        problems.append(f"{name}: empty description")
    for i, dim in enumerate(ds.dims):
        if not dim.label:
            problems.append(f"{name}: axis {i} has no label")
    if ds.ndim == 0 or ds.maxshape[0] is not None or h5py.h5ds.is_scale(ds.id):
        return
    if len(ds.dims[0]) == 0:
        problems.append(f"{name}: axis 0 ({ds.dims[0].label}) has no dimension scale")
        return
    scale = ds.dims[0][0]
    if scale.shape[0] != ds.shape[0]:
        problems.append(f"{name}: {ds.shape[0]} rows, its scale {scale.name} has {scale.shape[0]}")


def check_default(f, problems):
    group, hops = f, 0
    while "default" in group.attrs and text(group.attrs.get("NX_class", "")) != "NXdata":
        target = text(group.attrs["default"])
        if target not in group or hops > 4:
            problems.append(f"{group.name}@default = {target!r} leads nowhere")
            return
        group, hops = group[target], hops + 1
    if text(group.attrs.get("NX_class", "")) != "NXdata":
        problems.append(f"the @default chain from / ends at {group.name}, not an NXdata group")
        return
    signal_name = text(group.attrs.get("signal", ""))
    if signal_name not in group:
        problems.append(f"{group.name}@signal = {signal_name!r} is not in the group")
        return
    signal = group[signal_name]
    axes = group.attrs.get("axes", [])
    axes = [text(axes)] if isinstance(axes, (str, bytes)) else [text(a) for a in axes]
    if signal.ndim == 0 or signal.size == 0 or signal.dtype.kind not in "iuf":
        problems.append(f"{signal.name} is not a plottable array")
    if len(axes) != signal.ndim:
        problems.append(f"{group.name}@axes names {len(axes)} axes for a rank-{signal.ndim} signal")
    for i, a in enumerate(axes):
        if a == ".":
            continue
        if a not in group:
            problems.append(f"{group.name}@axes: {a!r} is not in the group")
        elif group[a].shape[0] != signal.shape[i]:
            problems.append(f"{group.name}: axis {a} has {group[a].shape[0]} values, the signal {signal.shape[i]}")


def main():
    problems, count = [], 0
    with h5py.File(sys.argv[1], "r") as f:
        def visit(name, obj):
            nonlocal count
            if isinstance(obj, h5py.Dataset):
                count += 1
                check_dataset("/" + name, obj, problems)
        f.visititems(visit)
        check_default(f, problems)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"ok: {count} datasets")


if __name__ == "__main__":
    main()
