"""Write an empty qcow2 (version 2) image: the lab's stand-in for CirrOS.

Usage: make-qcow2.py PATH [VIRTUAL_SIZE_BYTES]. Four 64 KiB clusters: the
header, the refcount table, one refcount block, the L1 table (nothing
allocated). What `qemu-img create -f qcow2` makes, without qemu-utils.
"""
import struct
import sys

CLUSTER = 1 << 16
path = sys.argv[1]
size = int(sys.argv[2]) if len(sys.argv) > 2 else 64 << 20
l1_size = -(-size // (CLUSTER * (CLUSTER // 8)))
image = bytearray(4 * CLUSTER)
struct.pack_into(
    ">4sIQIIQIIQQIIQ", image, 0,
    b"QFI\xfb", 2,        # magic, version
    0, 0,                 # backing file offset, size
    16, size,             # cluster bits, virtual size
    0,                    # no encryption
    l1_size, 3 * CLUSTER,  # L1 entries, L1 table offset
    CLUSTER, 1,           # refcount table offset, clusters
    0, 0)                 # snapshots
struct.pack_into(">Q", image, CLUSTER, 2 * CLUSTER)  # refcount block at cluster 2
for cluster in range(4):                               # clusters 0-3 in use
    struct.pack_into(">H", image, 2 * CLUSTER + 2 * cluster, 1)
with open(path, "wb") as out:
    out.write(image)
