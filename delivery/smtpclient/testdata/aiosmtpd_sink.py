# An aiosmtpd receiver for the smtpclient tests: listens on argv[1]:argv[2],
# writes each message's content (as received, dots removed) to argv[3]/N,
# says "ready" on stdout and stops when stdin closes.
import os
import sys

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, folder):
        self.folder, self.n = folder, 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        with open(os.path.join(self.folder, str(self.n)), "wb") as f:
            f.write(envelope.original_content)
        return "250 OK"


c = Controller(Keep(sys.argv[3]), hostname=sys.argv[1], port=int(sys.argv[2]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
