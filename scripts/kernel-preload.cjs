// Preloaded into the notebook kernel (node --require, see lib/notebook/kernel.ts). tslab sends every Jupyter message
// with zeromq 6's socket.send() without awaiting it, but zeromq 6 allows one send in flight per socket and throws
// EBUSY ("Socket is busy writing") for a second. When the iopub queue backs up (a busy machine, a long run with live
// progress displays) a status message sent while a display update is still in flight killed the kernel mid-run.
// Here every socket's sends are chained, in order: a send starts when the previous one has finished. A failed send is
// reported on stderr (the kernel keeps running, as it would have had tslab awaited the send).
'use strict';
const zmq = require('zeromq');

// Sockets are sealed objects: their send chains live here.
const chains = new WeakMap();

function serializeSends(proto) {
  if (proto.__inherituneSerialized) return;
  const send = proto.send;
  Object.defineProperty(proto, '__inherituneSerialized', { value: true });
  // defineProperty, not assignment: the base class's send is read-only (an own property here shadows it).
  Object.defineProperty(proto, 'send', {
    configurable: true,
    writable: true,
    value: function serializedSend(msg) {
      const prev = chains.get(this) || Promise.resolve();
      const next = prev.then(() => send.call(this, msg));
      const chain = next.catch((e) => {
        process.stderr.write(`[kernel] a zeromq send failed: ${e && e.message ? e.message : e}\n`);
      });
      chains.set(this, chain);
      return chain;
    },
  });
}

for (const name of ['Publisher', 'Router', 'Dealer', 'Push', 'Pair', 'Reply', 'Request', 'XPublisher']) {
  if (zmq[name] && zmq[name].prototype) serializeSends(zmq[name].prototype);
}

module.exports = { serializeSends };
