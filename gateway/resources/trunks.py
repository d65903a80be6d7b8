"""Trunk phone numbers: no 2008 page (there was no Trunking API); legacy XML over Trunking v1."""

from __future__ import annotations

from gateway.resources.listing import Paging
from gateway.resources.model import DELETE, FETCH, LIST, Field, Operation, Param, Resource, Shape, field_, ops

TRUNK_PHONE_NUMBER = Shape(
    "TrunkPhoneNumber",
    (
        field_("sid", "Sid"),
        field_("account_sid", "AccountSid"),
        field_("trunk_sid", "TrunkSid"),
        field_("friendly_name", "FriendlyName"),
        field_("phone_number", "PhoneNumber", "phone"),
        field_("api_version", "ApiVersion"),
        field_("voice_caller_id_lookup", "VoiceCallerIdLookup", "bool"),
        field_("voice_url", "VoiceUrl"),
        field_("voice_method", "VoiceMethod"),
        field_("voice_fallback_url", "VoiceFallbackUrl"),
        field_("voice_fallback_method", "VoiceFallbackMethod"),
        field_("voice_application_sid", "VoiceApplicationSid"),
        field_("status_callback", "StatusCallback"),
        field_("status_callback_method", "StatusCallbackMethod"),
        field_("sms_url", "SmsUrl"),
        field_("sms_method", "SmsMethod"),
        field_("sms_fallback_url", "SmsFallbackUrl"),
        field_("sms_fallback_method", "SmsFallbackMethod"),
        field_("sms_application_sid", "SmsApplicationSid"),
        field_("address_requirements", "AddressRequirements"),
        field_("beta", "Beta", "bool"),
        Field(
            "capabilities",
            "Capabilities",
            "nested",
            (
                field_("voice", "Voice", "bool"),
                field_("sms", "Sms", "bool"),
                field_("mms", "Mms", "bool"),
                field_("fax", "Fax", "bool"),
            ),
        ),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
        field_("url", "Uri", "self_uri"),
    ),
)

TRUNK_PHONE_NUMBERS = Resource(
    name="trunk_phone_numbers",
    legacy_path="/Accounts/{AccountSid}/Trunks/{TrunkSid}/PhoneNumbers",
    list_element="TrunkPhoneNumbers",
    item=TRUNK_PHONE_NUMBER,
    host="trunking",
    upstream_list="/v1/Trunks/{TrunkSid}/PhoneNumbers",
    upstream_instance="/v1/Trunks/{TrunkSid}/PhoneNumbers/{Sid}",
    paging=Paging("meta", "phone_numbers"),
    owned_by=(("account_sid", "AccountSid"),),
    list_ops=ops(
        {
            "GET": LIST,
            "POST": Operation("create", "POST", (Param("PhoneNumberSid", required=True),), writes=True),
        }
    ),
    instance_ops=ops(
        {
            "GET": FETCH,
            "DELETE": DELETE,
        }
    ),
)
