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
    leave [N] [door]      N people leave (egress needs no release)
    force [door]          force a door open (the entrance by default)
    offline on|off        the controller stops answering (busy) / answers again
    status                people inside and every point of the map
    help                  this text"""
