"""Either mutable share format, chosen by the version byte (0 SDMF, 1 MDMF)."""

from grid.formats.mdmf import MdmfHeader, MdmfShare, parse_mdmf_header, parse_mdmf_share
from grid.formats.mutable_common import SDMF_VERSION, mutable_share_version
from grid.formats.sdmf import SdmfHeader, SdmfShare, parse_sdmf_header, parse_sdmf_share

MutableShare = SdmfShare | MdmfShare
MutableHeader = SdmfHeader | MdmfHeader


def parse_mutable_header(first_bytes: bytes) -> MutableHeader:
    """Parse the header of an SDMF or MDMF share; raise ShareFormatError otherwise."""
    if mutable_share_version(first_bytes) == SDMF_VERSION:
        return parse_sdmf_header(first_bytes)
    return parse_mdmf_header(first_bytes)


def parse_mutable_share(data: bytes) -> MutableShare:
    """Parse a whole SDMF or MDMF share; raise ShareFormatError otherwise."""
    if mutable_share_version(data) == SDMF_VERSION:
        return parse_sdmf_share(data)
    return parse_mdmf_share(data)
