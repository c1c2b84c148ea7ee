// Live checks while an officer types (issue 22, item 3), on the post and emergency forms.
//
// Progressive enhancement only: without this file the forms work as before, and the server
// checks everything again when the post is saved, submitted or sent. This script sends what
// the form holds now to POST /posts/check (the same session, the same CSRF token in the
// X-CSRFToken header, the same role checks) a moment after each change, and puts what comes
// back into the page: the guardrails' findings, each chosen channel's remaining characters
// as its platform counts them, and a preview per platform. The markup comes from the server's
// own templates, so it reads exactly as the page does after a save; the only thing made here
// is the thumbnail of an image chosen but not yet uploaded.

/** Wait this long after the last key press before checking (GOV.UK's character count waits
 * about as long before it tells a screen reader the count). */
const TYPING_PAUSE_MS = 400;
/** Thumbnails are drawn this wide at most: a preview needs no more. */
const THUMBNAIL_PX = 480;
const UNAVAILABLE =
  "The live checks are not available just now. The guardrails still check the post when you save or send it.";

export function start(form) {
  const url = form.dataset.liveCheck;
  const token = form.querySelector("input[name=csrf_token]")?.value;
  const text = form.querySelector("textarea[name=text]");
  const panels = {
    findings: document.getElementById("live-findings"),
    counts: document.getElementById("channel-counts"),
    previews: document.getElementById("live-previews"),
  };
  if (!url || !token || !text || !panels.findings || !panels.counts) return null;

  const emergency = form.dataset.emergency === "true";
  const images = new Map(); // file input -> {file, facts, src}
  let timer = null;
  let sent = 0;
  let controller = null;

  function schedule(delay = TYPING_PAUSE_MS) {
    clearTimeout(timer);
    timer = setTimeout(check, delay);
  }

  function values(name) {
    return Array.from(form.querySelectorAll(`[name="${name}"]`));
  }

  function body() {
    const chosen = values("channels")
      .filter((box) => box.checked)
      .map((box) => Number(box.value));
    const facts = [];
    for (const input of form.querySelectorAll("input[type=file][data-alt-text]")) {
      const image = images.get(input);
      if (!image || input.files[0] !== image.file) continue;
      const alt = form.querySelector(`[name="${input.dataset.altText}"]`);
      const altCy = form.querySelector(`[name="${input.dataset.altText}_cy"]`);
      const fact = { ...image.facts, alt_text: alt ? alt.value : "" };
      if (altCy) fact.alt_text_cy = altCy.value;
      facts.push(fact);
    }
    const answer = { text: text.value, channels: chosen, images: facts, emergency };
    // A bilingual form (issue 18): the Welsh text is checked with the English.
    const welsh = form.querySelector("[name=text_cy]");
    if (welsh) answer.text_cy = welsh.value;
    if (emergency) {
      const category = values("category").find((radio) => radio.checked);
      answer.emergency_category = category ? category.value : null;
    } else {
      answer.publish_date = values("publish_date").map((box) => box.value);
      const time = form.querySelector("[name=publish_time]");
      answer.publish_time = time ? time.value : "";
    }
    if (form.dataset.postId) answer.post_id = Number(form.dataset.postId);
    return answer;
  }

  function replace(panel, html) {
    // Only when it changed: a live region reads out whatever is put in it.
    if (panel && panel.innerHTML !== html) panel.innerHTML = html;
  }

  function problem(message) {
    const p = document.createElement("p");
    p.className = "govuk-error-message";
    p.textContent = message;
    panels.findings.replaceChildren(p);
  }

  function thumbnails() {
    const chosen = Array.from(images.entries())
      .filter(([input, image]) => input.files[0] === image.file && image.src)
      .map(([input, image]) => {
        const alt = form.querySelector(`[name="${input.dataset.altText}"]`);
        return { src: image.src, alt: alt ? alt.value : "" };
      });
    if (!chosen.length || !panels.previews) return;
    for (const holder of panels.previews.querySelectorAll("[data-preview-images]")) {
      holder.replaceChildren(
        ...chosen.map(({ src, alt }) => {
          const img = document.createElement("img");
          img.className = "app-post-preview__image";
          img.src = src;
          img.alt = alt;
          return img;
        }),
      );
    }
  }

  async function check() {
    const mine = ++sent;
    controller?.abort();
    controller = new AbortController();
    form.dataset.liveState = "checking";
    let response;
    let data;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": token,
        },
        body: JSON.stringify(body()),
        signal: controller.signal,
      });
      data = await response.json();
    } catch (error) {
      if (error.name === "AbortError") return;
      if (mine === sent) {
        problem(UNAVAILABLE);
        form.dataset.liveState = "failed";
      }
      return;
    }
    if (mine !== sent) return; // a later check is on its way
    if (!response.ok) {
      problem(data.detail || data.error || UNAVAILABLE);
      form.dataset.liveState = "refused";
      return;
    }
    replace(panels.findings, data.html.findings);
    replace(panels.counts, data.html.counts);
    replace(panels.previews, data.html.previews);
    thumbnails();
    form.dataset.liveState = "checked";
    form.dispatchEvent(new CustomEvent("live-check", { detail: data }));
  }

  async function readImage(input) {
    const file = input.files[0];
    if (!file) {
      images.delete(input);
      return;
    }
    const facts = {
      filename: file.name,
      content_type: file.type,
      size_bytes: file.size,
      width: 0,
      height: 0,
    };
    let src = null;
    try {
      const bitmap = await createImageBitmap(file);
      facts.width = bitmap.width;
      facts.height = bitmap.height;
      const scale = Math.min(1, THUMBNAIL_PX / bitmap.width);
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      // A data: address, which the Content-Security-Policy allows for images (blob: it does not).
      src = canvas.toDataURL("image/jpeg", 0.8);
    } catch {
      // Not an image the browser can read: the server says what is wrong when it is sent.
    }
    images.set(input, { file, facts, src });
  }

  form.addEventListener("input", (event) => {
    if (event.target.type !== "file") schedule();
  });
  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target.type === "file") {
      readImage(target).then(() => schedule(0));
    } else if (target.type === "checkbox" || target.type === "radio") {
      schedule(0);
    }
  });
  // Back on the form with what was typed (a refused submit, an edit): check it at once.
  const welshBox = form.querySelector("[name=text_cy]");
  if (text.value.trim() || (welshBox && welshBox.value.trim())) schedule(0);
  form.dataset.liveState = "ready";
  return { check };
}

const form = document.querySelector("form[data-live-check]");
if (form) start(form);
