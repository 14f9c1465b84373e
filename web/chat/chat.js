/*
 * Website chat window for the dry needling assistant.
 *
 * Vanilla JS (ES2017), no build step. Talks to Rasa's socket.io channel (bot/channels/webchat.py):
 *   -> session_request {session_id}       <- session_confirm "<id>"
 *   -> user_uttered {message, session_id} <- bot_uttered {text, quick_replies, sources?, handoff?, reply_id?}
 *                                         <- error_message {error}
 *   -> feedback {reply_id, helpful}       <- feedback_saved {reply_id, ok}   (thumbs up/down on an answer)
 * Security: message text is only ever inserted as text (textContent / text nodes), never as
 * HTML, and the page's CSP forbids inline scripts and styles.
 */
(() => {
  "use strict";

  // sessionStorage, not localStorage: the transcript is health-related, and sessionStorage is
  // cleared when the tab closes, so the next person on a shared computer doesn't see it.
  const STORAGE_KEY = "dry-needling-chat:v1";
  const MAX_STORED_MESSAGES = 200; // well under the storage quota
  const REPLY_TIMEOUT_MS = 15000;
  const GREETING_PAYLOAD = "/greet"; // the bot's own welcome, with its suggested questions
  const UNREACHABLE = "Can't reach the assistant right now.";
  const BULLET = /^\s*[-•*]\s+/;
  const LABEL = /^([^:\n]{1,60}):\s+(\S[\s\S]*)$/;
  const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'’”]/g;

  const $ = (id) => document.getElementById(id);
  const els = {
    clinicName: $("clinic-name"),
    disclaimer: $("disclaimer"),
    startOver: $("start-over"),
    scroller: $("scroller"),
    log: $("log"),
    quickReplies: $("quick-replies"),
    typing: $("typing"),
    offline: $("offline"),
    form: $("composer"),
    input: $("message"),
    counter: $("counter"),
  };

  const config = { clinic_name: "", phone: "", booking_url: "", emergency_number: "", max_message_chars: 1000 };
  let state = loadState();
  let socket = null;
  let sessionReady = false;
  let replyTimer = null;
  let pendingText = null; // the visitor's last typed message, until it is answered
  let staleQuickReplies = []; // the suggestions before the latest message, offered again if it fails
  let turnStart = null; // the visitor's latest message (or the welcome): scrolling stops there
  const SVG_NS = "http://www.w3.org/2000/svg";
  // Thumb icons (Feather icons, MIT licence), drawn as SVG so no emoji font is needed.
  const THUMBS = {
    up: "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3",
    down: "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17",
  };

  // Inside the clinic's iframe: fill the frame (chat.css .embedded), and let Escape close the
  // launcher's panel (embed.js): key presses inside a frame never reach the host page.
  if (window.self !== window.top) {
    document.documentElement.classList.add("embedded");
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") window.parent.postMessage({ type: "dry-needling-chat:close" }, "*");
    });
  }

  // ---- State -------------------------------------------------------------------------------

  function emptyState() {
    return { sessionId: null, greeted: false, messages: [], quickReplies: [] };
  }

  function loadState() {
    try {
      const parsed = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
      if (parsed && Array.isArray(parsed.messages) && Array.isArray(parsed.quickReplies)) return parsed;
    } catch (e) {
      // storage disabled or corrupt: start afresh
    }
    return emptyState();
  }

  function saveState() {
    state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (e) {
      // storage full or disabled: the chat still works, it just won't survive a reload
    }
  }

  // ---- Rendering ---------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Text with http(s) addresses made into links; everything else stays a text node. */
  function appendLinkified(parent, text) {
    let last = 0;
    for (const match of text.matchAll(URL_PATTERN)) {
      let url;
      try {
        url = new URL(match[0]);
      } catch (e) {
        continue;
      }
      parent.append(text.slice(last, match.index));
      const a = el("a", "", match[0]);
      a.href = url.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      parent.append(a);
      last = match.index + match[0].length;
    }
    parent.append(text.slice(last));
  }

  /** "Label: sentence" gets a bold label, which makes the documents' long lists scannable. */
  function listItem(line) {
    const li = el("li");
    const match = LABEL.exec(line);
    if (match) {
      li.append(el("strong", "", `${match[1]}:`), " ");
      appendLinkified(li, match[2]);
    } else {
      appendLinkified(li, line);
    }
    return li;
  }

  /**
   * Paragraphs ("\n\n") become <p>. Lines starting "- " or "• ", and "Label: sentence" lines
   * in a paragraph of several lines, become list items; other lines are kept as line breaks.
   */
  function renderBotText(container, text) {
    for (const paragraph of text.split(/\n\s*\n/)) {
      const lines = paragraph.split("\n").map((l) => l.trim()).filter(Boolean);
      let list = null;
      let p = null;
      for (const line of lines) {
        if (BULLET.test(line) || (lines.length > 1 && LABEL.test(line))) {
          p = null;
          list = list || container.appendChild(el("ul"));
          list.append(listItem(line.replace(BULLET, "")));
        } else {
          list = null;
          if (p) p.append(el("br"));
          else p = container.appendChild(el("p"));
          appendLinkified(p, line);
        }
      }
    }
  }

  function renderSources(sources) {
    const footer = el("footer", "sources");
    footer.append(el("p", "sources-label", sources.length > 1 ? "Sources" : "Source"));
    const list = footer.appendChild(el("ul"));
    for (const s of sources) {
      const li = list.appendChild(el("li"));
      li.append(el("cite", "", s.document));
      if (s.section) li.append(` – ${s.section}`);
    }
    return footer;
  }

  function renderMessage(m) {
    const bubble = el("div", `msg msg-${m.role === "user" ? "user" : "bot"}`);
    if (m.role === "user") {
      // Screen readers hear who said what; the bubbles' sides only show it visually.
      bubble.append(el("span", "visually-hidden", "You said: "), m.text);
      if (m.failed) {
        bubble.classList.add("msg-failed");
        bubble.append(el("span", "msg-note", "Not answered – please try again."));
      }
    } else {
      bubble.append(el("span", "visually-hidden", "Assistant: "));
      const body = bubble.appendChild(el("div", "msg-body"));
      renderBotText(body, m.text || "");
      if (m.sources && m.sources.length) bubble.append(renderSources(m.sources));
      if (m.handoff) bubble.classList.add("msg-handoff");
      if (m.replyId) bubble.append(renderRating(m));
    }
    return bubble;
  }

  function thumb(direction) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = svg.appendChild(document.createElementNS(SVG_NS, "path"));
    path.setAttribute("d", THUMBS[direction]);
    return svg;
  }

  /** Thumbs up/down under an answer: the rating names the reply only, never who gave it. */
  function renderRating(m) {
    const group = el("div", "rating");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Was this answer helpful?");
    group.append(el("span", "rating-label", "Helpful?"));
    const thanks = el("span", "rating-status");
    thanks.setAttribute("role", "status");
    const buttons = {};
    for (const [value, label] of [["up", "Yes, this helped"], ["down", "No, this did not help"]]) {
      const button = el("button", `rate rate-${value}`);
      button.type = "button";
      button.setAttribute("aria-label", label);
      button.setAttribute("aria-pressed", String(m.rating === value));
      button.append(thumb(value));
      button.addEventListener("click", () => rate(m, value, buttons, thanks));
      buttons[value] = button;
      group.append(button);
    }
    group.append(thanks);
    return group;
  }

  const pendingRatings = new Map(); // reply_id -> {m, previous, buttons, thanks}

  function showRating(m, buttons) {
    for (const [value, button] of Object.entries(buttons)) button.setAttribute("aria-pressed", String(m.rating === value));
  }

  function rate(m, value, buttons, thanks) {
    if (!socket || !sessionReady) {
      thanks.textContent = "Not connected: try again in a moment.";
      return;
    }
    pendingRatings.set(m.replyId, { m, previous: m.rating || null, buttons, thanks });
    m.rating = value;
    showRating(m, buttons);
    saveState();
    socket.emit("feedback", { reply_id: m.replyId, helpful: value === "up" });
  }

  function onFeedbackSaved(data) {
    const pending = data && pendingRatings.get(data.reply_id);
    if (!pending) return;
    pendingRatings.delete(data.reply_id);
    if (data.ok) {
      pending.thanks.textContent = "Thank you for your feedback.";
    } else {
      pending.m.rating = pending.previous;
      showRating(pending.m, pending.buttons);
      saveState();
      pending.thanks.textContent = "Your rating could not be saved.";
    }
  }

  function renderQuickReplies() {
    els.quickReplies.textContent = "";
    for (const qr of state.quickReplies) {
      const button = el("button", "quick-reply", qr.title);
      button.type = "button";
      button.addEventListener("click", () => send(qr.payload, qr.title));
      els.quickReplies.append(button);
    }
    els.quickReplies.hidden = state.quickReplies.length === 0;
  }

  /** The whole stored transcript (page load, start over), without reading it all out again. */
  function renderAll() {
    turnStart = null;
    els.log.setAttribute("aria-live", "off");
    els.log.textContent = "";
    for (const m of state.messages) els.log.append(renderMessage(m));
    renderQuickReplies();
    scrollToLatest();
    window.setTimeout(() => els.log.setAttribute("aria-live", "polite"), 0);
  }

  function scrollToLatest() {
    // After layout, so the new bubble's height is known.
    window.requestAnimationFrame(() => {
      const { scroller } = els;
      const end = scroller.scrollHeight - scroller.clientHeight;
      // A long answer is read from its start: never scroll the question above it out of view.
      const start = turnStart && turnStart.isConnected ? turnStart.offsetTop - 16 : end;
      scroller.scrollTop = Math.min(end, start);
    });
  }

  function addMessage(m) {
    state.messages.push(m);
    saveState();
    const bubble = els.log.appendChild(renderMessage(m));
    if (m.role === "bot" && !turnStart) turnStart = bubble;
    scrollToLatest();
  }

  function setTyping(on) {
    // Changes inside role="status" are announced politely by screen readers.
    els.typing.textContent = "";
    if (!on) return;
    const bubble = el("div", "typing-bubble");
    for (let i = 0; i < 3; i++) {
      const dot = bubble.appendChild(el("span", "typing-dot"));
      dot.setAttribute("aria-hidden", "true");
    }
    bubble.append(el("span", "visually-hidden", "The assistant is writing a reply…"));
    els.typing.append(bubble);
    scrollToLatest();
  }

  function showOffline(reason) {
    const clinic = config.clinic_name || "the clinic";
    let text = `${reason} `;
    text += config.phone
      ? `Please call ${clinic} on ${config.phone}, or try again in a moment.`
      : `Please try again in a moment, or contact ${clinic} directly.`;
    if (config.emergency_number) text += ` In an emergency call ${config.emergency_number}.`;
    els.offline.textContent = text;
    els.offline.hidden = false;
  }

  function hideOffline() {
    els.offline.hidden = true;
    els.offline.textContent = "";
  }

  function applyConfig() {
    const clinic = config.clinic_name || "the clinic";
    if (config.clinic_name) {
      els.clinicName.textContent = config.clinic_name;
      document.title = `${config.clinic_name} – dry needling questions`;
    }
    const emergency = config.emergency_number || "your local emergency number";
    els.disclaimer.textContent =
      `General information from the documents of ${clinic}, not medical advice. In an emergency call ${emergency}.`;
    const limit = Number(config.max_message_chars);
    if (limit > 0) els.input.maxLength = limit;
    updateCounter();
  }

  function updateCounter() {
    const limit = els.input.maxLength > 0 ? els.input.maxLength : 1000;
    const length = els.input.value.length;
    // Shown only near the limit, so it doesn't distract from the usual short question.
    const near = length >= Math.floor(limit * 0.8);
    els.counter.hidden = !near;
    els.counter.textContent = near ? `${length} / ${limit} characters` : "";
    els.counter.classList.toggle("counter-full", length >= limit);
  }

  function autoGrow() {
    // CSSOM writes are allowed by the CSP (only style attributes in markup are not).
    els.input.style.height = "auto";
    els.input.style.height = `${els.input.scrollHeight + 2}px`;
  }

  function setInput(text) {
    els.input.value = text;
    updateCounter();
    autoGrow();
  }

  // ---- Conversation ------------------------------------------------------------------------

  function startWaiting() {
    setTyping(true);
    window.clearTimeout(replyTimer);
    replyTimer = window.setTimeout(onNoReply, REPLY_TIMEOUT_MS);
  }

  function stopWaiting() {
    window.clearTimeout(replyTimer);
    replyTimer = null;
    pendingText = null;
    setTyping(false);
  }

  /** No answer in time, or the connection dropped: say so and give the text back to retry. */
  function onNoReply() {
    const text = pendingText;
    const last = state.messages[state.messages.length - 1];
    if (last && last.role === "user" && !last.failed) {
      last.failed = true;
      state.quickReplies = staleQuickReplies;
      saveState();
      renderAll();
    }
    stopWaiting();
    showOffline(UNREACHABLE);
    if (text && !els.input.value) setInput(text);
  }

  /** Send a message; `shown` is what the visitor's bubble says (a quick reply's title). */
  function send(message, shown) {
    if (!message.trim()) return false;
    if (!socket || !socket.connected || !sessionReady) {
      showOffline(UNREACHABLE);
      return false;
    }
    // A new message makes earlier suggestions stale (kept aside in case it goes unanswered).
    staleQuickReplies = state.quickReplies;
    state.quickReplies = [];
    renderQuickReplies();
    turnStart = null;
    addMessage({ role: "user", text: shown || message });
    turnStart = els.log.lastElementChild; // keep the question in view above a long answer
    socket.emit("user_uttered", { message, session_id: state.sessionId });
    startWaiting();
    pendingText = shown ? null : message;
    return true;
  }

  function onBotUttered(data) {
    if (!data || typeof data !== "object") return;
    const sources = (Array.isArray(data.sources) ? data.sources : [])
      .filter((s) => s && typeof s.document === "string")
      .map((s) => ({ document: s.document, section: String(s.section || "") }));
    const quickReplies = (Array.isArray(data.quick_replies) ? data.quick_replies : [])
      .filter((q) => q && typeof q.title === "string" && typeof q.payload === "string")
      .map((q) => ({ title: q.title, payload: q.payload }));
    const text = typeof data.text === "string" ? data.text : "";
    stopWaiting();
    hideOffline();
    if (text.trim() || sources.length) {
      const m = { role: "bot", text };
      if (sources.length) m.sources = sources;
      if (data.handoff) m.handoff = true;
      if (typeof data.reply_id === "string" && /^[0-9.]{9,24}$/.test(data.reply_id)) m.replyId = data.reply_id;
      addMessage(m);
    }
    if (quickReplies.length) {
      state.quickReplies = quickReplies;
      saveState();
      renderQuickReplies();
      scrollToLatest();
    }
  }

  function connect() {
    if (typeof window.io !== "function") {
      showOffline(UNREACHABLE);
      return;
    }
    // Same origin as the page. Long-polling only: the server's WebSocket upgrade fails (Sanic
    // 21.12's websocket code breaks on Python 3.11) and the failed attempt is a console error.
    // forceNew: after "Start over" a fresh connection, never the cached one.
    socket = window.io({ path: "/socket.io", transports: ["polling"], reconnectionDelayMax: 10000, forceNew: true });

    // On every (re)connection: ask for our session again, so the conversation continues.
    socket.on("connect", () => {
      sessionReady = false;
      socket.emit("session_request", { session_id: state.sessionId });
    });

    socket.on("session_confirm", (confirmed) => {
      const id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
      if (typeof id !== "string") return;
      state.sessionId = id;
      sessionReady = true;
      hideOffline();
      if (!state.greeted && state.messages.length === 0) {
        // The bot's welcome, without a visitor bubble.
        state.greeted = true;
        socket.emit("user_uttered", { message: GREETING_PAYLOAD, session_id: id });
        startWaiting();
      }
      saveState();
    });

    socket.on("bot_uttered", onBotUttered);
    socket.on("feedback_saved", onFeedbackSaved);

    socket.on("error_message", () => {
      stopWaiting();
      showOffline("Sorry, something went wrong.");
    });

    socket.on("disconnect", () => {
      sessionReady = false;
      if (replyTimer) onNoReply();
      else showOffline(UNREACHABLE);
    });

    socket.on("connect_error", () => {
      if (!socket.active) showOffline(UNREACHABLE); // gave up for good (it normally retries)
    });
  }

  /** Forget this conversation (privacy on shared computers) and start a new session. */
  function startOver() {
    stopWaiting();
    sessionReady = false;
    try {
      window.sessionStorage.removeItem(STORAGE_KEY);
    } catch (e) {
      // nothing stored
    }
    state = emptyState();
    renderAll();
    setInput("");
    if (socket) {
      // A new socket.io connection gets a new server-side session.
      socket.removeAllListeners(); // first, so this "disconnect" shows no notice
      socket.disconnect();
      socket = null;
    }
    hideOffline();
    connect();
    els.input.focus();
  }

  // ---- Wiring ------------------------------------------------------------------------------

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = els.input.value.trim();
    if (text && send(text)) setInput("");
    els.input.focus();
  });

  els.input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line; never interrupt an IME composition.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.form.requestSubmit();
    }
  });

  els.input.addEventListener("input", () => {
    updateCounter();
    autoGrow();
  });

  els.startOver.addEventListener("click", startOver);

  renderAll();
  applyConfig();
  fetch("config.json", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : {}))
    .then((c) => {
      for (const k of Object.keys(config)) {
        if (c && c[k] !== undefined && c[k] !== null) config[k] = c[k];
      }
      applyConfig();
    })
    .catch(() => {}) // the defaults stay
    .finally(connect);
})();
