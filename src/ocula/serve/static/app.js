// ocula web page: plain JS, no build step, talks only to this server's /api/v1.
"use strict";
(() => {
  const API = "/api/v1";
  // ocula.tasks.describe.PURPOSES and LANGUAGES, with the names shown here
  const PURPOSES = [["alt", "Alt text"], ["caption", "Caption"], ["product", "Product"],
                    ["social", "Social post"], ["news", "News caption"], ["travel", "Travel post"],
                    ["tags", "Keywords"]];
  const LANGS = [["en", "English"], ["zh", "中文"]];
  const OPS = { upscale: "Upscaled", denoise: "Denoised", restore: "Restored",
                "blur-faces": "Faces blurred in", strip: "Metadata stripped from" };
  const TERMINAL = ["done", "failed", "cancelled"];
  const MAX_PARALLEL = 4;  // requests in flight from this page (the server's queue is finite)

  const $ = (sel, root = document) => root.querySelector(sel);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const base = (p) => String(p || "").split(/[\\/]/).pop();
  const pct = (x) => `${Math.round(x * 100)}%`;

  // el("p", {class: "x", text: "hi", onclick: fn}, child, "text", [more])
  function el(tag, attrs = {}, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k === "text") n.textContent = v;
      else if (k === "style") Object.assign(n.style, v);  // CSSOM: allowed by the page's CSP
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid == null || kid === false) continue;
      n.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return n;
  }

  // --- API key (only when the server asks for one) --------------------------------------
  let apiKey = sessionStorage.getItem("ocula.apiKey") || "";
  const authHeaders = () => (apiKey ? { Authorization: `Bearer ${apiKey}` } : {});
  function showAuth() {
    const form = $("#auth-form");
    if (form.hidden) { form.hidden = false; $("#api-key").value = apiKey; }
  }
  $("#auth-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    apiKey = $("#api-key").value.trim();
    if (apiKey) sessionStorage.setItem("ocula.apiKey", apiKey); else sessionStorage.removeItem("ocula.apiKey");
    announce($("#describe-status"), apiKey ? "API key saved for this browser tab." : "API key cleared.");
    loadHealth();
  });

  // --- errors: problem+json shown in the live region ------------------------------------
  class ApiError extends Error {
    constructor(p) {
      super(p.detail || p.title || "Request failed");
      Object.assign(this, { status: p.status ?? 0, title: p.title || "Error", detail: p.detail || "" });
    }
  }
  async function problemOf(res) {
    let p = { status: res.status, title: res.statusText || `HTTP ${res.status}` };
    try {
      const text = await res.text();
      try { Object.assign(p, JSON.parse(text)); } catch { if (text) p.detail = text.slice(0, 300); }
    } catch { /* body unreadable */ }
    if (Array.isArray(p.detail)) p.detail = p.detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
    if (p.status === 401) showAuth();
    return new ApiError(p);
  }
  function showError(err, where) {
    const status = err.status ? `${err.status} ` : "";
    const title = err.title || err.name || "Error";
    const item = el("div", { class: "error", role: "group", "aria-label": "Error" },
      el("p", {}, el("strong", { text: `${where ? where + ": " : ""}${status}${title}` })),
      err.detail || err.message ? el("p", { text: err.detail || err.message }) : null,
      el("button", { type: "button", class: "small", text: "Dismiss", onclick: () => item.remove() }));
    $("#errors").append(item);
    if (err instanceof Error && !(err instanceof ApiError)) console.error(err);
  }
  // messages from the server are sentences the command line prints too ("the face at ...")
  const sentence = (text) => String(text || "").replace(/^\p{Ll}/u, (c) => c.toUpperCase());
  const announce = (node, text) => { node.textContent = sentence(text); };

  // --- requests: a few at a time, 429 retried after Retry-After -------------------------
  let active = 0;
  const waiting = [];
  async function limited(fn) {
    while (active >= MAX_PARALLEL) await new Promise((r) => waiting.push(r));
    active++;
    try { return await fn(); } finally { active--; const next = waiting.shift(); if (next) next(); }
  }
  function api(path, { json, form, method } = {}) {
    return limited(async () => {
      for (let attempt = 0; ; attempt++) {
        const init = { method: method || (json !== undefined || form ? "POST" : "GET"), headers: authHeaders() };
        if (json !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(json); }
        else if (form) init.body = form;
        let res;
        try { res = await fetch(API + path, init); } catch (e) {
          throw new ApiError({ title: "Network error", detail: `The server could not be reached (${e.message}).` });
        }
        if (res.status === 429 && attempt < 4) {
          await sleep(Math.min(Number(res.headers.get("Retry-After")) || 1, 10) * 1000);
          continue;
        }
        if (!res.ok) throw await problemOf(res);
        const type = res.headers.get("Content-Type") || "";
        return type.includes("json") ? res.json() : res.blob();
      }
    });
  }
  // <img> cannot send an Authorization header: with a key, images come through fetch.
  async function objectUrl(url) {
    const res = await fetch(url, { headers: authHeaders() });
    if (!res.ok) throw await problemOf(res);
    const blob = await res.blob();
    return { url: URL.createObjectURL(blob), type: blob.type };
  }
  function setSrc(img, url) {
    if (!apiKey) { img.src = url; return; }
    objectUrl(url).then((o) => { img.src = o.url; }, (e) => showError(e, `Image ${base(url)}`));
  }

  // --- jobs: server-sent events, or polling when a key is needed or the stream breaks ----
  function followJob(job, onUpdate) {
    return new Promise((resolve) => {
      let last = job, finished = false;
      const update = (j) => {
        if (finished) return;
        last = j; onUpdate(j);
        if (TERMINAL.includes(j.state)) { finished = true; resolve(j); }
      };
      const poll = async () => {
        while (!finished) {
          await sleep(700);
          try { update(await api(`/jobs/${job.id}`)); } catch (e) { showError(e, "Job"); finished = true; resolve(last); }
        }
      };
      update(job);
      if (finished) return;
      if (apiKey || !window.EventSource) { poll(); return; }
      const es = new EventSource(`${API}/jobs/${encodeURIComponent(job.id)}/events`);
      const onEvent = (ev) => {
        let j; try { j = JSON.parse(ev.data); } catch { return; }
        update(j);
        if (finished) es.close();
      };
      es.addEventListener("progress", onEvent);
      es.addEventListener("state", onEvent);
      es.onmessage = onEvent;
      es.onerror = () => { es.close(); if (!finished) poll(); };
    });
  }
  const isJob = (r) => r && typeof r.id === "string" && typeof r.state === "string";
  function progressText(j, what) {
    const p = j.progress || {};
    const count = p.total ? ` ${p.done || 0} of ${p.total}` : "";
    return `${what}: ${j.state}${count}${p.message ? ` (${p.message})` : ""}`;
  }

  // --- server info -----------------------------------------------------------------------
  async function loadHealth() {
    const info = $("#server-info");
    try {
      const h = await api("/health");
      if (h.auth) showAuth();
      const folders = (h.folders || []).map(base).join(", ");
      info.textContent = `ocula ${h.version || ""} · ${h.workers ?? "?"} worker(s)` +
        (folders ? ` · indexed folders: ${folders}` : " · no folders to index");
      $("#index-btn").disabled = !(h.folders || []).length;
      if (h.folders && h.folders.length && h.indexed === false) {
        announce($("#search-status"), "Nothing is indexed yet: press “Index folders” first.");
      }
      if (h.indexed) loadPeople(true);  // no index, no people: nothing to ask for yet
      else $("#people-status").textContent = "Nothing is indexed yet: index the folders first.";
    } catch (e) {
      info.textContent = "The server did not answer.";
      showError(e, "Server");
    }
  }

  // --- describe: upload -> analyze -> describe per purpose and language ------------------
  const uploads = [];
  let cardSeq = 0;

  function addFiles(files) {
    for (const file of files) {
      const up = { file, name: file.name || "pasted image", id: ++cardSeq };
      uploads.push(up);
      for (const select of document.querySelectorAll("select.upload-select")) {
        const empty = select.querySelector("option[value='']");
        if (empty) empty.remove();
        select.append(el("option", { value: String(uploads.length - 1), text: up.name }));
        select.value = String(uploads.length - 1);
      }
      $("#cards").prepend(makeCard(up));
      runCard(up);
    }
  }

  // an upload the server refused cannot be enhanced either
  function dropUpload(up) {
    for (const select of document.querySelectorAll("select.upload-select")) {
      const opt = select.querySelector(`option[value="${uploads.indexOf(up)}"]`);
      if (opt) opt.remove();
      if (!select.options.length) select.append(el("option", { value: "", text: "Upload an image above first" }));
    }
  }

  function makeCard(up) {
    const hid = `card-${up.id}-h`;
    up.img = el("img", { class: "preview", alt: `Uploaded photo ${up.name}`, src: URL.createObjectURL(up.file) });
    up.status = el("p", { class: "status", "aria-live": "polite", text: "Analysing…" });
    up.facts = el("dl", { class: "facts" });
    up.cells = {};
    const rows = PURPOSES.map(([p, label]) => el("tr", { "data-purpose": p },
      el("th", { scope: "row", text: label }),
      LANGS.map(([l, lname]) => {
        const text = el("div", { class: "desc-text", "data-purpose": p, "data-lang": l, lang: l, text: "…" });
        const copy = el("button", { type: "button", class: "small", text: "Copy", disabled: true,
          "aria-label": `Copy ${lname} ${label.toLowerCase()} for ${up.name}`,
          onclick: () => copyText(text.textContent, copy) });
        up.cells[`${p}/${l}`] = { text, copy };
        return el("td", { "data-label": lname }, text, copy);
      })));
    return up.card = el("article", { class: "card", "aria-labelledby": hid },
      el("div", { class: "card-head" },
        el("figure", { class: "preview-box" }, up.img),
        el("div", { class: "card-facts" }, el("h3", { id: hid, text: up.name }), up.status, up.facts)),
      el("table", { class: "descs" },
        el("caption", { class: "visually-hidden", text: `Descriptions of ${up.name}` }),
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Purpose" }),
          LANGS.map(([, lname]) => el("th", { scope: "col", text: lname })))),
        el("tbody", {}, rows)));
  }

  async function runCard(up) {
    const form = new FormData();
    form.append("image", up.file, up.name);
    let facts;
    try {
      facts = await api("/analyze", { form });
    } catch (e) {
      up.status.textContent = `Could not analyse: ${e.detail || e.title}`;
      up.card.querySelector("table.descs").remove();
      up.card.querySelector(".preview-box").remove();
      URL.revokeObjectURL(up.img.src);
      dropUpload(up);
      showError(e, up.name);
      return;
    }
    renderFacts(up, facts);
    up.status.textContent = "Writing descriptions…";
    let failed = 0;
    await Promise.all(PURPOSES.flatMap(([p]) => LANGS.map(async ([l]) => {
      const cell = up.cells[`${p}/${l}`];
      try {
        const d = await api("/describe", { json: { facts, purpose: p, language: l } });
        cell.text.textContent = d.text;
        cell.copy.disabled = false;
        if (p === "alt" && l === "en" && d.text) up.img.alt = d.text;
      } catch (e) {
        failed++;
        cell.text.textContent = "—";
        if (failed === 1) showError(e, `${up.name} (${p}, ${l})`);
      }
    })));
    up.status.textContent = failed ? `Done; ${failed} description(s) failed.` : "Done.";
  }

  function renderFacts(up, a) {
    const dl = up.facts;
    const add = (term, ...value) => dl.append(el("dt", { text: term }), el("dd", {}, ...value));
    const i = a.image || {};
    add("Size", `${i.width}×${i.height}${i.format ? " " + i.format : ""}`);
    if (a.labels && a.labels.length) {
      add("Labels", el("ul", { class: "inline" }, a.labels.filter((l, k) => k === 0 || l.score >= 0.01).slice(0, 5).map((l) =>
        el("li", {}, `${l.name}${l.name_zh ? " / " + l.name_zh : ""} `, el("span", { class: "muted", text: pct(l.score) })))));
    }
    if (a.colors && a.colors.colors.length) {
      add("Colours", el("ul", { class: "inline" }, a.colors.colors.slice(0, 6).map((c) =>
        el("li", {}, el("span", { class: "swatch", style: { backgroundColor: c.hex }, "aria-hidden": "true" }),
          `${c.name} / ${c.name_zh} `, el("span", { class: "muted", text: `${c.hex} ${pct(c.fraction)}` })))));
    }
    if (a.text) add("Text", a.text.text ? el("pre", { class: "ocr", text: a.text.text }) : "none found");
    if (a.faces) add("Faces", String(a.faces.faces.length));
    if (a.quality) add("Quality", a.quality.verdict + (a.quality.issues.length ? ` (${a.quality.issues.join(", ")})` : ""));
    const m = a.metadata;
    if (m) {
      const cam = [m.camera_make, m.camera_model].filter(Boolean).join(" ");
      if (cam) add("Camera", cam);
      const t = m.time;
      if (t && t.known) add("Taken", timeText(t));
      else if (t && t.problem) add("Taken", `unknown (${t.problem})`);
      else if (m.datetime_original) add("Taken", m.datetime_original);
      if (m.place) add("Place", placeText(m.place));
      else if (m.has_gps) add("Place", m.gps_note || "GPS position recorded in the file");
    }
    if (a.moderation) add("Safety", a.moderation.unsafe ? "flagged as unsafe" : "safe");
    if (a.warnings && a.warnings.length) add("Notes", a.warnings.join("; "));
  }

  // where and when, as the server wrote them (labels) or from the fields
  function placeText(p) {
    const en = p.label || [p.city && p.city.en, p.country && p.country.en].filter(Boolean).join(", ");
    return el("span", {}, en, p.label_zh ? [" / ", el("span", { lang: "zh", text: p.label_zh })] : null);
  }
  function timeText(t) {
    const clock = (t.local || "").replace("T", " ").slice(0, 16);
    const zone = t.offset ? `UTC${t.offset}` : "time zone unknown";
    const words = [t.weekday, t.season, t.time_of_day].filter(Boolean).join(" ");
    return `${clock} (${zone})${words ? " · " + words : ""}`;
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { document.execCommand("copy"); } finally { ta.remove(); }
    }
    const old = button.textContent;
    button.textContent = "Copied";
    announce($("#describe-status"), "Copied to the clipboard.");
    setTimeout(() => { button.textContent = old; }, 1500);
  }

  const drop = $("#drop");
  $("#file-input").addEventListener("change", (ev) => {
    addFiles([...ev.target.files]);
    ev.target.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    addFiles([...ev.dataTransfer.files]);
  });
  // a file dropped next to the zone must not navigate away from the page
  window.addEventListener("dragover", (ev) => ev.preventDefault());
  window.addEventListener("drop", (ev) => ev.preventDefault());
  document.addEventListener("paste", (ev) => {
    const files = [...(ev.clipboardData?.files || [])].filter((f) => f.type.startsWith("image/"));
    if (files.length) addFiles(files);
  });

  // --- search, search by example, duplicates, indexing ----------------------------------
  const gallery = $("#gallery"), searchStatus = $("#search-status");

  function thumb(url, alt) {
    const img = el("img", { alt, loading: "lazy", width: 256, height: 256 });
    setSrc(img, url);
    return img;
  }
  const thumbUrl = (id) => `${API}/images/${id}/thumbnail?size=256`;

  function renderHits(r, what) {
    gallery.replaceChildren();
    $("#dupes").replaceChildren();
    const n = r.hits.length;
    searchStatus.textContent = n ? `${n} result${n === 1 ? "" : "s"} for ${what} among ${r.total} images (${r.seconds.toFixed(2)} s).`
      : `No matches for ${what} among ${r.total} images.`;
    for (const h of r.hits) {
      const name = base(h.path) + (h.timestamp ? ` @ ${h.timestamp}` : "");  // a video, at its matching keyframe
      const url = h.thumbnail || (h.id != null ? thumbUrl(h.id) : null);
      gallery.append(hitFigure(h, url, name));
    }
  }

  function hitFigure(h, url, name) {
    const when = h.captured ? h.captured.replace("T", " ").slice(0, 16) : null;
    return el("figure", { class: "hit", title: h.path },
      url ? thumb(url, h.description || `Image ${name}`) : null,
      el("figcaption", {}, el("span", { class: "name", text: name }),
        h.place || when ? el("span", { class: "where" }, [h.place, when].filter(Boolean).join(" · ")) : null,
        Object.keys(h.ranks || {}).some((k) => k !== "time")  // a time listing has no score worth showing
          ? el("span", { class: "muted", text: `score ${h.score.toFixed(3)}` +
            (h.similarity != null ? `, similarity ${h.similarity.toFixed(2)}` : "") }) : null));
  }

  // --- moments: events with titles in both languages; a moment's photos in time order ----
  const momentStatus = $("#moments-status"), momentList = $("#moment-list"), momentPhotos = $("#moment-photos");

  async function showMoment(m) {
    momentStatus.textContent = `Loading the photos of ${m.title}…`;
    try {
      const r = await api("/search", { json: { moment: m.id, top_k: 200 } });
      momentPhotos.replaceChildren(el("h3", { text: `${m.title} / ` }, el("span", { lang: "zh", text: m.title_zh })),
        el("div", { class: "gallery" }, r.hits.map((h) => hitFigure(h, h.thumbnail || thumbUrl(h.id), base(h.path)))));
      momentStatus.textContent = `${r.hits.length} photo(s) of ${m.title}, in the order they were taken.`;
    } catch (e) { momentStatus.textContent = "Could not load the moment."; showError(e, "Moment"); }
  }

  $("#moments-btn").addEventListener("click", async () => {
    momentStatus.textContent = "Loading moments…";
    try {
      const r = await api("/moments", { json: {} });
      momentList.replaceChildren();
      momentPhotos.replaceChildren();
      const list = [...r.moments].reverse();  // the latest first
      momentStatus.textContent = list.length
        ? `${list.length} moment(s) of ${r.photos} photos` + (r.undated ? `; ${r.undated} without a capture time.` : ".")
        : "No moments yet: photos need a capture time (EXIF) to be grouped.";
      for (const m of list) {
        const photos = `${m.count} photo${m.count === 1 ? "" : "s"}`;
        momentList.append(el("figure", { class: "hit moment", "data-moment": m.id },
          m.cover_thumbnail ? thumb(m.cover_thumbnail, `Cover photo of ${m.title}`) : null,
          el("figcaption", {},
            el("span", { class: "name", text: m.title }),
            el("span", { class: "name", lang: "zh", text: m.title_zh }),
            el("span", { class: "muted", text: photos }),
            el("button", { type: "button", class: "small", text: "Show photos",
              "aria-label": `Show the ${photos} of ${m.title}`, onclick: () => showMoment(m) }))));
      }
    } catch (e) { momentStatus.textContent = "Could not load moments."; showError(e, "Moments"); }
  });

  $("#search-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const query = $("#search-query").value.trim();
    if (!query) { searchStatus.textContent = "Type some words to search for."; return; }
    searchStatus.textContent = `Searching for “${query}”…`;
    try { renderHits(await api("/search", { json: { query, top_k: 24 } }), `“${query}”`); }
    catch (e) { searchStatus.textContent = "Search failed."; showError(e, "Search"); }
  });

  $("#example-input").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("image", file, file.name);
    form.append("top_k", "24");
    searchStatus.textContent = `Searching for images like ${file.name}…`;
    try { renderHits(await api("/search", { form }), `images like ${file.name}`); }
    catch (e) { searchStatus.textContent = "Search failed."; showError(e, "Search by example"); }
    ev.target.value = "";
  });

  $("#dupes-btn").addEventListener("click", async () => {
    const box = $("#dupes");
    searchStatus.textContent = "Looking for duplicates…";
    try {
      const r = await api("/dupes", { json: {} });
      gallery.replaceChildren();
      box.replaceChildren();
      searchStatus.textContent = r.groups.length ? `${r.groups.length} group(s) of duplicates among ${r.images} images.`
        : `No duplicates among ${r.images} images.`;
      r.groups.forEach((g, k) => {
        const thumbs = g.thumbnails || (g.ids || []).map(thumbUrl);
        box.append(el("section", { class: "dupe-group", "aria-label": `Duplicate group ${k + 1}` },
          el("h3", { text: `Group ${k + 1}: ${g.kind === "exact" ? "identical files" : "near duplicates"}, ${g.paths.length} files` }),
          el("div", { class: "gallery" }, g.paths.map((p, j) => el("figure", { class: "hit", title: p },
            thumbs[j] ? thumb(thumbs[j], `Duplicate ${j + 1} of group ${k + 1}: ${base(p)}`) : null,
            el("figcaption", {}, el("span", { class: "name", text: base(p) })))))));
      });
    } catch (e) { searchStatus.textContent = "Duplicate search failed."; showError(e, "Duplicates"); }
  });

  $("#index-btn").addEventListener("click", async () => {
    const btn = $("#index-btn"), bar = $("#index-progress");
    btn.disabled = true;
    searchStatus.textContent = "Starting to index…";
    try {
      const job = await api("/index", { json: {} });
      bar.hidden = false;
      bar.removeAttribute("value");
      const end = await followJob(job, (j) => {
        const p = j.progress || {};
        if (p.total) { bar.max = p.total; bar.value = p.done || 0; }
        searchStatus.textContent = progressText(j, "Indexing");
      });
      if (end.state === "done" && end.result) {
        const r = end.result;
        searchStatus.textContent = `Indexed: ${r.images} images (analysed ${r.analysed}, unchanged ${r.unchanged}, ` +
          `removed ${r.removed}, failed ${(r.failed || []).length}) in ${r.seconds.toFixed(1)} s.`;
        loadPeople(true);
      } else if (end.state === "failed" && end.error) showError(end.error, "Indexing");
    } catch (e) { searchStatus.textContent = "Indexing failed."; showError(e, "Indexing"); }
    finally { btn.disabled = false; bar.hidden = true; }
  });

  // --- people: faces grouped into people; name them, merge two, see a person's photos -------
  const peopleStatus = $("#people-status"), peopleList = $("#people-list"), personPhotos = $("#person-photos");
  const personLabel = (p) => p.name || `Unnamed person ${p.id}`;
  let people = [];

  function faceImg(url, alt, size) {
    const img = el("img", { alt, loading: "lazy", width: size, height: size, class: "face" });
    setSrc(img, url);
    return img;
  }

  async function loadPeople(quiet) {
    try {
      const r = await api("/people");
      people = r.people;
      peopleList.replaceChildren(...people.map(personCard));
      peopleStatus.textContent = people.length
        ? `${people.length} ${people.length === 1 ? "person" : "people"}; ${r.unknown} of ${r.faces} faces belong to nobody yet.`
        : `No people yet (${r.faces} faces stored): a person appears when three faces look alike.`;
      fillMerge();
    } catch (e) {
      if (e.status === 409) { peopleStatus.textContent = "Nothing is indexed yet: index the folders first."; return; }
      if (e.status === 401 && quiet) { peopleStatus.textContent = "Enter the API key to see the people."; return; }
      peopleStatus.textContent = "Could not load the people.";
      if (!quiet) showError(e, "People");
    }
  }

  function nameForm(id, label, value, submit) {
    const input = el("input", { type: "text", id, value: value || "", autocomplete: "off", spellcheck: "false",
                                maxlength: 200, placeholder: "Name", title: value || "" });
    // a long name may not fit the field: its whole text is the tooltip
    input.addEventListener("input", () => { input.title = input.value; });
    const form = el("form", { class: "name-form" },
      el("label", { for: id, class: "visually-hidden", text: label }), input,
      el("button", { type: "submit", class: "small", text: value ? "Rename" : "Name" }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (!name) { peopleStatus.textContent = "Type a name first."; input.focus(); return; }
      const button = form.querySelector("button");
      button.disabled = true;
      try { await submit(name); } finally { button.disabled = false; }
    });
    return { form, input };
  }

  function personCard(p) {
    const label = personLabel(p);
    const { form, input } = nameForm(`person-name-${p.id}`, `Name for ${label}`, p.name,
      (name) => nameWith({ person: p.id, name }));
    // the face is a button: clicking it goes to the name field
    const face = p.thumbnail ? el("button", { type: "button", class: "face-btn", "aria-label": `Name ${label}`,
      onclick: () => input.focus() }, faceImg(p.thumbnail, `Face of ${label}`, 96)) : null;
    return el("article", { class: "person", "data-person": String(p.id), "aria-labelledby": `person-h-${p.id}` },
      face,
      el("h3", { id: `person-h-${p.id}`, text: label }),
      el("p", { class: "muted", text: `${p.faces} face${p.faces === 1 ? "" : "s"} in ${p.photos} photo${p.photos === 1 ? "" : "s"}` +
        (p.aliases.length ? ` · also ${p.aliases.join(", ")}` : "") }),
      form,
      el("button", { type: "button", class: "small", text: "Photos", "aria-label": `Photos of ${label}`,
        onclick: () => showPerson(p.id) }));
  }

  async function nameWith(body) {
    try {
      const r = await api("/people/name", { json: body });
      announce(peopleStatus, r.message);
      await loadPeople(true);
      announce(peopleStatus, r.message);
      if (personPhotos.dataset.person) await showPerson(Number(personPhotos.dataset.person), true);
    } catch (e) { peopleStatus.textContent = "Naming failed."; showError(e, "Name"); }
  }

  async function showPerson(id, quiet) {
    try {
      const r = await api(`/people/${encodeURIComponent(id)}`);
      const label = personLabel(r.person);
      personPhotos.dataset.person = String(r.person.id);
      personPhotos.replaceChildren(
        el("h3", { text: `Photos of ${label}` }),
        el("div", { class: "gallery" }, r.photos.map((ph, k) => {
          const how = ph.locked ? "named here" : ph.face == null ? "named in its metadata"
            : ph.distance != null ? `distance ${ph.distance.toFixed(2)}` : "grouped";
          const kids = [thumb(ph.thumbnail, `Photo ${k + 1} of ${label}: ${base(ph.path)}`),
            el("figcaption", {}, el("span", { class: "name", text: base(ph.path) }), el("span", { class: "muted", text: how }))];
          if (ph.face != null) {
            kids.push(nameForm(`face-name-${ph.face}`, `Who is the face in ${base(ph.path)}?`, "",
              (name) => nameWith({ face: ph.face, name })).form);
            kids.push(el("button", { type: "button", class: "small not-them", text: `Not ${label}`,
              "aria-label": `The face in ${base(ph.path)} is not ${label}`,
              onclick: () => notThem(r.person, ph) }));
          }
          return el("figure", { class: "hit", title: ph.path }, kids);
        })));
      if (!quiet) announce(peopleStatus, `${r.photos.length} photo(s) of ${label}.`);
    } catch (e) {
      if (quiet && e.status === 404) {  // the person is gone (its last face left): nothing to show
        personPhotos.replaceChildren();
        delete personPhotos.dataset.person;
        return;
      }
      showError(e, "Photos");
    }
  }

  async function notThem(person, ph) {
    try {
      const r = await api("/people/split", { json: { person: String(person.id), face: ph.face } });
      await loadPeople(true);
      announce(peopleStatus, r.message);
      await showPerson(person.id, true);
    } catch (e) { showError(e, "Not this person"); }
  }

  function fillMerge() {
    for (const [sel, k] of [[$("#merge-keep"), 0], [$("#merge-other"), 1]]) {
      const old = sel.value;
      sel.replaceChildren(...(people.length ? people.map((p) => el("option", { value: String(p.id),
        text: `${personLabel(p)} (${p.faces})` })) : [el("option", { value: "", text: "No people yet" })]));
      if (old && people.some((p) => String(p.id) === old)) sel.value = old;
      else if (people.length > k) sel.selectedIndex = k;
    }
    // two different people, when there are two
    const keep = $("#merge-keep"), other = $("#merge-other");
    if (people.length > 1 && keep.value === other.value) other.selectedIndex = keep.selectedIndex === 0 ? 1 : 0;
  }

  $("#people-btn").addEventListener("click", () => loadPeople(false));
  $("#merge-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const keep = $("#merge-keep").value, other = $("#merge-other").value;
    if (!keep || !other || keep === other) { peopleStatus.textContent = "Choose two different people to merge."; return; }
    try {
      const r = await api("/people/merge", { json: { person: keep, other } });
      await loadPeople(true);
      peopleStatus.textContent = `Person ${r.removed} merged into ${personLabel(r.person)}: ${r.moved} face(s) moved.`;
      await showPerson(r.person.id, true);
    } catch (e) { peopleStatus.textContent = "Merging failed."; showError(e, "Merge"); }
  });

  // --- enhance ----------------------------------------------------------------------------
  async function showOutputs(box, urls, altOf, nameOf) {
    for (const [n, url] of urls.entries()) {
      const o = await objectUrl(url);
      const ext = (o.type.split("/")[1] || "png").replace("jpeg", "jpg");
      box.prepend(el("figure", { class: "output" },
        el("img", { src: o.url, alt: altOf(n) }),
        el("figcaption", {}, el("a", { href: o.url, download: `${nameOf(n)}.${ext}`, text: `Download ${nameOf(n)}.${ext}` }))));
    }
  }

  async function runJob(path, body, status, what) {
    const r = await api(`${path}?async=true`, body);
    if (!isJob(r)) return { state: "done", result: r, outputs: r.output ? [r.output] : [] };
    // long work can be stopped: DELETE cancels a queued job, or a running one at its next step
    const cancel = el("button", { type: "button", class: "small cancel", text: `Cancel ${what}` });
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try { await api(`/jobs/${encodeURIComponent(r.id)}`, { method: "DELETE" }); }
      catch (e) { showError(e, "Cancel"); cancel.disabled = false; }
    });
    status.after(cancel);
    try { return await followJob(r, (j) => announce(status, progressText(j, what))); }
    finally { cancel.remove(); }
  }

  $("#enhance-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = $("#enhance-status");
    const up = uploads[Number($("#enhance-image").value)];
    if (!up) { status.textContent = "Upload an image in “Describe images” first."; return; }
    const op = $("#enhance-op").value;
    const form = new FormData();
    form.append("image", up.file, up.name);
    const button = ev.submitter || $("#enhance-form button");
    button.disabled = true;
    try {
      const j = await runJob(`/${op}`, { form }, status, `${op} ${up.name}`);
      if (j.state !== "done") {
        status.textContent = `${op} ${up.name}: ${j.state}.`;
        if (j.error) showError(j.error, op);
        return;
      }
      const r = j.result || {};
      const urls = (j.outputs && j.outputs.length) ? j.outputs : (r.output ? [r.output] : []);
      const stem = up.name.replace(/\.[^.]+$/, "");
      await showOutputs($("#enhance-out"), urls,
        () => `${OPS[op]} ${up.name}` + (r.width ? `, ${r.width}×${r.height} pixels` : ""), () => `${stem}-${op}`);
      status.textContent = `${op} ${up.name}: done` + (r.width ? `, ${r.width}×${r.height}` : "") +
        (r.notes && r.notes.length ? `. ${r.notes.join(" ")}` : ".");
    } catch (e) { status.textContent = `${op} failed.`; showError(e, op); }
    finally { button.disabled = false; }
  });

  // --- product listing: before / after and the copy, with copy buttons --------------------
  const LANG_NAMES = { en: "English", zh: "中文" };

  function copyBlock(label, text) {
    const button = el("button", { type: "button", class: "small", text: "Copy",
      "aria-label": `Copy ${label}`, onclick: () => copyText(text, button) });
    return el("div", { class: "copy-row" }, el("span", { class: "copy-label", text: label }),
      el("span", { class: "desc-text", text }), button);
  }

  $("#product-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = $("#product-status");
    const up = uploads[Number($("#product-image").value)];
    if (!up) { status.textContent = "Upload an image in “Describe images” first."; return; }
    const form = new FormData();
    form.append("image", up.file, up.name);
    const size = $("#product-size").value;
    if (size !== "") form.append("size", size);
    form.append("upscale", $("#product-upscale").checked ? "true" : "false");
    const button = ev.submitter || $("#product-form button");
    button.disabled = true;
    status.textContent = `Making the listing for ${up.name}…`;
    try {
      const j = await runJob("/product", { form }, status, `Listing ${up.name}`);
      if (j.state !== "done") {
        status.textContent = `Listing ${up.name}: ${j.state}.`;
        if (j.error) showError(j.error, "Product");
        return;
      }
      const r = j.result || {};
      const url = (j.outputs && j.outputs[0]) || r.output;
      const o = await objectUrl(url);
      const first = Object.values(r.listing || {})[0];
      const stem = up.name.replace(/\.[^.]+$/, "");
      const before = el("figure", { class: "output" },
        el("img", { src: URL.createObjectURL(up.file), alt: `Before: the photo ${up.name} as taken` }),
        el("figcaption", { text: "Before" }));
      const after = el("figure", { class: "output" },
        el("img", { src: o.url, alt: `After: ${first ? first.title : up.name} on a white ${r.width}×${r.height} square` }),
        el("figcaption", {}, "After · ", el("a", { href: o.url, download: `${stem}-listing.jpg`, text: "Download" })));
      const copy = el("div", { class: "listing-copy" });
      for (const [lang, c] of Object.entries(r.listing || {})) {
        const name = LANG_NAMES[lang] || lang;
        copy.append(el("h4", { text: name, lang }),
          el("div", { lang }, copyBlock(lang === "zh" ? "标题" : "Title", c.title),
            copyBlock(lang === "zh" ? "要点" : "Bullets", c.bullets.join("\n")),
            copyBlock(lang === "zh" ? "关键词" : "Keywords", c.keywords.join(lang === "zh" ? "、" : ", "))));
      }
      const warnings = (r.warnings || []).length ? el("p", { class: "muted", text: `Warnings: ${r.warnings.join("; ")}` }) : "";
      $("#product-out").prepend(el("article", { class: "listing" }, el("h3", { text: `Listing: ${up.name}` }),
        el("div", { class: "pair" }, before, after), copy, warnings));
      status.textContent = `Listing for ${up.name}: done, ${r.width}×${r.height} on white` +
        (r.warnings && r.warnings.length ? `, ${r.warnings.length} warning(s).` : ".");
    } catch (e) { status.textContent = "The listing failed."; showError(e, "Product"); }
    finally { button.disabled = false; }
  });

  // --- generate ---------------------------------------------------------------------------
  $("#generate-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = $("#generate-status");
    const prompt = $("#gen-prompt").value.trim();
    if (!prompt) { status.textContent = "Write a prompt first."; return; }
    const body = { prompt };
    const seed = $("#gen-seed").value, steps = $("#gen-steps").value;
    if (seed !== "") body.seed = Number(seed);
    if (steps !== "") body.denoising_steps = Number(steps);
    const button = ev.submitter || $("#generate-form button");
    button.disabled = true;
    status.textContent = "Generating…";
    try {
      const j = await runJob("/generate", { json: body }, status, "Generating");
      if (j.state !== "done") {
        status.textContent = `Generation ${j.state}` + (j.error ? `: ${j.error.detail || j.error.title}` : ".");
        if (j.error) showError(j.error, "Generate");
        return;
      }
      const r = j.result || {};
      const imgs = r.images || [];
      await showOutputs($("#generate-out"), j.outputs || [],
        (n) => `Generated image for the prompt “${prompt}”` + (imgs[n] ? ` (seed ${imgs[n].seed})` : ""),
        (n) => `generated-${imgs[n] ? imgs[n].seed : n + 1}`);
      status.textContent = `Generated ${(j.outputs || []).length} image(s)` + (r.model ? ` with ${r.model}` : "") +
        (r.seconds ? ` in ${r.seconds.toFixed(1)} s.` : ".");
    } catch (e) {
      status.textContent = `Generation failed: ${e.detail || e.title}`;
      showError(e, "Generate");
    } finally { button.disabled = false; }
  });

  loadHealth();
})();
