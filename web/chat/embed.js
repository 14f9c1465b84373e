/*
 * Optional launcher for the clinic's own website:
 *
 *   <script src="https://assistant.example/chat/embed.js" defer></script>
 *
 * adds a floating "Questions about dry needling?" button that opens and closes the chat
 * (/chat/ from the same server as this script) in an iframe. The clinic's site must be listed
 * in the assistant's CHAT_ALLOWED_ORIGINS, or the chat page refuses to be framed there.
 *
 * Styles are set through the CSSOM (element.style), which a host page's CSP allows even when
 * it forbids inline <style> and style="" attributes; no stylesheet is added to the host page.
 */
(function () {
  "use strict";

  if (window.dryNeedlingChatEmbed) return; // the tag was included twice
  var script = document.currentScript;
  if (!script || !script.src) return;

  var chatUrl = new URL(".", script.src).href; // https://assistant.example/chat/
  var chatOrigin = new URL(chatUrl).origin;
  var BRAND = "#0b5f66";
  var FOCUS = "#b34700";
  var panel = null;
  var frame = null;
  var open = false;

  function css(el, styles) {
    Object.keys(styles).forEach(function (k) {
      el.style[k] = styles[k];
    });
  }

  var button = document.createElement("button");
  button.type = "button";
  button.id = "dry-needling-chat-launcher";
  button.textContent = "Questions about dry needling?";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "dry-needling-chat-panel");
  css(button, {
    position: "fixed",
    right: "1rem",
    bottom: "1rem",
    zIndex: "2147483000",
    minHeight: "48px",
    maxWidth: "calc(100vw - 2rem)",
    padding: "0.75rem 1.25rem",
    border: "2px solid #fff",
    borderRadius: "999px",
    background: BRAND, // white on this: 7.4:1
    color: "#fff",
    font: "600 1rem/1.25 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    boxShadow: "0 4px 14px rgba(0, 0, 0, 0.3)",
    cursor: "pointer",
  });
  // Visible keyboard focus even if the host page resets outlines.
  button.addEventListener("focus", function () {
    css(button, { outline: "3px solid " + FOCUS, outlineOffset: "3px" });
  });
  button.addEventListener("blur", function () {
    css(button, { outline: "", outlineOffset: "" });
  });

  /** Built on first open, so visitors who never open the chat never load it. */
  function buildPanel() {
    panel = document.createElement("div");
    panel.id = "dry-needling-chat-panel";
    css(panel, {
      position: "fixed",
      right: "1rem",
      bottom: "5rem", // above the launcher, which stays visible to close the chat
      zIndex: "2147483000",
      width: "min(400px, calc(100vw - 2rem))",
      height: "min(680px, calc(100vh - 6.5rem))",
      display: "none",
      borderRadius: "0.75rem",
      overflow: "hidden",
      background: "#fff",
      boxShadow: "0 8px 30px rgba(0, 0, 0, 0.35)",
    });
    frame = document.createElement("iframe");
    frame.src = chatUrl;
    frame.title = "Dry needling questions – chat assistant";
    frame.setAttribute("referrerpolicy", "no-referrer");
    css(frame, { display: "block", width: "100%", height: "100%", border: "0" });
    panel.appendChild(frame);
    document.body.appendChild(panel);
  }

  function setOpen(value) {
    open = value;
    if (open && !panel) buildPanel();
    if (panel) panel.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Close the chat" : "Questions about dry needling?";
    if (open) {
      frame.focus(); // keyboard users land in the chat
    } else {
      button.focus();
    }
  }

  button.addEventListener("click", function () {
    setOpen(!open);
  });

  // Escape on the host page closes the chat...
  document.addEventListener("keydown", function (event) {
    if (open && event.key === "Escape") setOpen(false);
  });
  // ...and so does Escape inside the chat, which tells us with a message (chat.js).
  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== chatOrigin) return;
    if (event.data && event.data.type === "dry-needling-chat:close" && open) setOpen(false);
  });

  function mount() {
    document.body.appendChild(button);
  }
  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
  window.dryNeedlingChatEmbed = { open: function () { setOpen(true); }, close: function () { setOpen(false); } };
})();
