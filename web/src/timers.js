// Disappearing messages (docs/protocol.md sections 4.9 and 6): the choices, and when a message goes.
export const TIMERS = [
  [0, "Off"],
  [86400, "24 hours"],
  [604800, "7 days"],
  [2592000, "30 days"],
  [7776000, "90 days"],
  [31536000, "1 year"],
];

export function timerLabel(seconds) {
  const found = TIMERS.find(([s]) => s === seconds);
  return found ? found[1] : `${seconds} seconds`;
}

/** When a message sent at `ts` disappears: the shorter of the conversation timer and its own ttl. */
export function expiry(ts, timer, ttl) {
  const limits = [timer, ttl].filter((s) => typeof s === "number" && s > 0);
  return limits.length ? ts + Math.min(...limits) * 1000 : null;
}

/** The messages still alive at `now` (ms), and whether any went. */
export function unexpired(messages, now) {
  const kept = messages.filter((m) => !(m.expiresAt && m.expiresAt <= now));
  return { kept, changed: kept.length !== messages.length };
}
