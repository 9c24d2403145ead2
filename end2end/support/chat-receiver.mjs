// A chat webhook for the browser tests, on loopback only: it keeps every
// JSON body posted to it and answers them, oldest first, at GET /messages.
//
//   node chat-receiver.mjs PORT
//
// Prints `ready` once it listens; stops on SIGTERM.
import { createServer } from 'node:http';

const [port] = process.argv.slice(2);
if (!port) {
  console.error('usage: node chat-receiver.mjs PORT');
  process.exit(2);
}

const messages = [];
const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/messages') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(messages));
    return;
  }
  if (request.method !== 'POST') {
    response.writeHead(405).end();
    return;
  }
  let body = '';
  request.on('data', (chunk) => {
    body += chunk;
  });
  request.on('end', () => {
    try {
      messages.push(JSON.parse(body));
      response.writeHead(200).end('ok');
    } catch {
      response.writeHead(400).end('not JSON');
    }
  });
});
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
