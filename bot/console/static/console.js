// Staff console: small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Forms that disable an account or reset a password ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // A note's remaining characters, announced politely.
  for (const field of document.querySelectorAll("textarea[data-counter]")) {
    const counter = document.getElementById(field.dataset.counter);
    if (!counter) continue;
    counter.setAttribute("aria-live", "polite");
    const update = () => {
      const left = field.maxLength - field.value.length;
      counter.textContent = `${left} of ${field.maxLength} characters left.`;
    };
    field.addEventListener("input", update);
    update();
  }
});
