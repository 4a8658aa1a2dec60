// Node's ws server for wslab's benchmarks: the stack the study notes' server.js uses.
//
//   node server.js echo|broadcast [--deflate]
//
// Prints "PORT <n>" once it listens and runs until its standard input closes,
// like benchmarks/servers.py. A broadcast goes to every OPEN client, the
// sender included, as {"type": "broadcast", "text": ...}: the same bytes as
// the Python servers send.
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const role = process.argv[2];
const deflate = process.argv.includes('--deflate');
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  backlog: 1024,
  perMessageDeflate: deflate,
});

wss.on('connection', (ws) => {
  if (role === 'echo') {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  } else {
    ws.on('message', (data) => {
      const out = JSON.stringify({ type: 'broadcast', text: data.toString() });
      wss.clients.forEach((client) => {
        if (client.readyState === WebSocket.OPEN) client.send(out);
      });
    });
  }
});

wss.on('listening', () => {
  process.stdout.write(`PORT ${wss.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
