"""The storage protocol's Foolscap RemoteInterfaces, under Tahoe-LAFS's names.

Rules: the remote names, method names and argument names (in order) are
Tahoe's, so a Tahoe client can call us and we can call Tahoe servers. The
constraints are Foolscap's first, cheap line of defence (sizes and shapes);
the core checks every value again, so nothing here is trusted for
correctness. Methods are declared as schemas rather than Foolscap's
function-signature idiom, so the declarations are plain data.
"""

from foolscap.api import Any, ChoiceOf, DictOf, IntegerConstraint, ListOf, SetOf, TupleOf
from foolscap.schema import ByteStringConstraint, Nothing

from introducer.foolscap_schema import remote_interface, remote_method

MAX_SHARES = 256
MAX_VECTORS = 1000

STORAGE_INDEX = ByteStringConstraint(maxLength=16)
SECRET = ByteStringConstraint(maxLength=32, minLength=32)
OFFSET = IntegerConstraint(8)
READ_LENGTH = IntegerConstraint(4)
SHARE_BYTES = ByteStringConstraint(maxLength=None)
REASON = ByteStringConstraint(maxLength=65536)
SHARE_NUMBERS = SetOf(int, maxLength=MAX_SHARES)
READ_VECTOR = ListOf(TupleOf(OFFSET, OFFSET), maxLength=MAX_VECTORS)
TEST_VECTOR = ListOf(
    TupleOf(OFFSET, OFFSET, ByteStringConstraint(maxLength=16), SHARE_BYTES),
    maxLength=MAX_VECTORS,
)
DATA_VECTOR = ListOf(TupleOf(OFFSET, SHARE_BYTES), maxLength=MAX_VECTORS)
TEST_AND_WRITE_VECTORS = DictOf(
    int, TupleOf(TEST_VECTOR, DATA_VECTOR, ChoiceOf(None, OFFSET)), maxKeys=MAX_SHARES
)
READ_DATA = DictOf(int, ListOf(SHARE_BYTES, maxLength=MAX_VECTORS), maxKeys=MAX_SHARES)


RIBucketWriter = remote_interface(
    "RIBucketWriter",
    "RIBucketWriter.tahoe.allmydata.com",
    {
        "write": remote_method(Nothing(), offset=OFFSET, data=SHARE_BYTES),
        "close": remote_method(Nothing()),
        "abort": remote_method(Nothing()),
    },
)

RIBucketReader = remote_interface(
    "RIBucketReader",
    "RIBucketReader.tahoe.allmydata.com",
    {
        "read": remote_method(SHARE_BYTES, offset=OFFSET, length=READ_LENGTH),
        "advise_corrupt_share": remote_method(Nothing(), reason=REASON),
    },
)

RIStorageServer = remote_interface(
    "RIStorageServer",
    "RIStorageServer.tahoe.allmydata.com",
    {
        "get_version": remote_method(DictOf(bytes, Any())),
        "allocate_buckets": remote_method(
            TupleOf(SHARE_NUMBERS, DictOf(int, RIBucketWriter, maxKeys=MAX_SHARES)),
            storage_index=STORAGE_INDEX,
            renew_secret=SECRET,
            cancel_secret=SECRET,
            sharenums=SHARE_NUMBERS,
            allocated_size=OFFSET,
            canary=Any(),
        ),
        "add_lease": remote_method(
            Any(), storage_index=STORAGE_INDEX, renew_secret=SECRET, cancel_secret=SECRET
        ),
        "get_buckets": remote_method(
            DictOf(int, RIBucketReader, maxKeys=MAX_SHARES), storage_index=STORAGE_INDEX
        ),
        "slot_readv": remote_method(
            READ_DATA,
            storage_index=STORAGE_INDEX,
            shares=ListOf(int, maxLength=MAX_SHARES),
            readv=READ_VECTOR,
        ),
        "slot_testv_and_readv_and_writev": remote_method(
            TupleOf(bool, READ_DATA),
            storage_index=STORAGE_INDEX,
            secrets=TupleOf(SECRET, SECRET, SECRET),
            tw_vectors=TEST_AND_WRITE_VECTORS,
            r_vector=READ_VECTOR,
        ),
        "advise_corrupt_share": remote_method(
            Any(),
            share_type=ByteStringConstraint(maxLength=16),
            storage_index=STORAGE_INDEX,
            shnum=int,
            reason=REASON,
        ),
    },
)
