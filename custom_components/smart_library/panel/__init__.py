"""The administrator's panel: a sidebar page the integration serves, for administrators only.

`registration.py` serves the panel's module (frontend/smart-library-panel.js, plain JavaScript,
no build step) and registers it with Home Assistant's frontend (`require_admin`); `websocket.py`
answers what the panel reads (services and branches, on-call phones, opening hours, incidents,
usage), each command admin-only and never with a full card number or a PIN.

Every change the panel makes is one of the integration's own admin actions (`enroll_member`,
`set_pin`, `create_reader_key`, `set_on_call`, …), called through Home Assistant's websocket
`call_service`, so the admin check and the redaction wrapper apply to it as to any other caller;
the members and staff cards it lists come from the `list_members` and `list_staff_cards`
actions. The weekly plan is saved through the branch's own *Reconfigure › Opening hours* flow.

The panel's words are `texts/panel/<language>.json`, sent by `smart_library/panel/texts` in the
language of the user's profile (helpers/texts.py); errors of the actions come translated by Home
Assistant (translations/<language>.json), as do the import report's reasons.
"""
