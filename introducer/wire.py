"""The introducer protocol's Foolscap RemoteInterfaces (v2), under Tahoe-LAFS's names.

Rules: the remote names, method names and argument names (in order) are
Tahoe's, so Tahoe nodes can publish to and subscribe at our introducer, and
our nodes at Tahoe's. An announcement travels as ``Any()`` (a
``(message, signature, key)`` tuple, or a list after some transports); the
core parses it again, so the constraints here are only a first, cheap line
of defence. A ``service_name`` may come as bytes (Tahoe sends
``b"storage"``) or as text, so it is ``Any()`` here and the adapter checks
its type and length: Foolscap cannot combine a bytes and a text constraint
(a text string arriving under ``ChoiceOf`` drops the connection). Foolscap
registers each interface by its remote name when this module is imported,
so every module that needs one imports it from here (registering a name
twice is an error).
"""

from foolscap.api import Any, DictOf, SetOf
from foolscap.schema import Nothing

from introducer.foolscap_schema import remote_interface, remote_method

INTRODUCER_PROTOCOL_V2 = b"http://allmydata.org/tahoe/protocols/introducer/v2"
MAX_SUBSCRIBER_INFO_KEYS = 100

ANNOUNCEMENTS = SetOf(Any(), maxLength=None)
SERVICE_NAME = Any()
SUBSCRIBER_INFO = DictOf(bytes, Any(), maxKeys=MAX_SUBSCRIBER_INFO_KEYS)


RIIntroducerSubscriberClient_v2 = remote_interface(
    "RIIntroducerSubscriberClient_v2",
    "RIIntroducerSubscriberClient_v2.tahoe.allmydata.com",
    {"announce_v2": remote_method(Nothing(), announcements=ANNOUNCEMENTS)},
)

RIIntroducerPublisherAndSubscriberService_v2 = remote_interface(
    "RIIntroducerPublisherAndSubscriberService_v2",
    "RIIntroducerPublisherAndSubscriberService_v2.tahoe.allmydata.com",
    {
        "get_version": remote_method(DictOf(bytes, Any())),
        "publish_v2": remote_method(Any(), announcement=Any(), canary=Any()),
        "subscribe_v2": remote_method(
            Any(),
            subscriber=RIIntroducerSubscriberClient_v2,
            service_name=SERVICE_NAME,
            subscriber_info=SUBSCRIBER_INFO,
        ),
    },
)
