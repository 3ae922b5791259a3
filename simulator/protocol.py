"""What the simulator and a client of its control port agree on (imports nothing of the building).

The control port listens on 127.0.0.1 only. A client sends one command per line; each gets its
reply, then a line holding a single '.', so a client knows where a reply of several lines (status,
help) ends. A refused command's reply starts with 'error: '. 'quit' ends the conversation, not the
simulator.
"""

from __future__ import annotations

CONTROL_HOST = "127.0.0.1"
CONTROL_PORT_OFFSET = 1000  # control port = Modbus port + 1000 unless told otherwise
DEFAULT_CONTROL_PORT = 5020 + CONTROL_PORT_OFFSET  # scripts/develop's building
END_OF_REPLY = "."
ERROR = "error: "

HELP = """\
    fire on|off           fire panel alarm          fault on|off      fire panel fault
    panic on|off          panic button at the counter
    arrive [N] [door]     N people wait at a door (default 1, the entrance); they walk in when it
                          is released
    leave [N] [door]      N people leave through the push bar (its request-to-exit: not forced)
    rex [door]            press a door's push bar / exit button (request-to-exit) without opening
                          it: for a few seconds the door may open without being forced
    force [door]          open a door without a release (forced, unless its REX was just pressed)
    help on|off [point]   a member's help button (the map's first one by default)
    offline on|off        the controller answers every request with an error (busy) / normally
    silent on|off         the controller takes requests and never answers (hung, cable pulled)
    pulse_count N [door]  the module's pulse count for a door's relay (0 = pulse for ever: the
                          door stays released); maps with module settings only (moxa_e1214_e1212)
    on_width N [door]     the relay's pulse ON width, in the module's steps (1.5 s on the E1214)
    off_width N [door]    the relay's pulse OFF width, likewise
    status                people inside, every point of the map and the modules' settings
    help                  this text"""
