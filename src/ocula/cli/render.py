"""How results read in a terminal: ``render(result)`` gives the human-readable lines the command
line prints (``--json`` prints the result itself). One function per result type, found by the
result's class (or the nearest class it derives from)."""

from __future__ import annotations

from typing import Any, Callable

_RENDERERS: dict[str, Callable[[Any], list[str]]] = {}


def _renders(name: str) -> Callable[[Callable[[Any], list[str]]], Callable[[Any], list[str]]]:
    def register(fn: Callable[[Any], list[str]]) -> Callable[[Any], list[str]]:
        _RENDERERS[name] = fn
        return fn
    return register


def render(result: Any) -> list[str]:
    """Human-readable lines for ``result`` (its JSON when no renderer knows its type)."""
    for cls in type(result).__mro__:
        fn = _RENDERERS.get(cls.__name__)
        if fn is not None:
            return fn(result)
    return [result.model_dump_json(indent=2)]


@_renders("Classification")
def _classification(r) -> list[str]:
    out = [f"{r.image.source}  ({r.model})"]
    for lab in r.labels:
        zh = f" / {lab.name_zh}" if lab.name_zh else ""
        out.append(f"  {lab.score:6.1%}  {lab.name}{zh}" + ("" if r.none_score is not None else f"  [{lab.category}]"))
    if r.none_score is not None:
        out.append(f"  {r.none_score:6.1%}  (none of these)")
    return out


@_renders("DetectResult")
def _detect_result(r) -> list[str]:
    what = f"looking for {', '.join(r.find)}" if r.find else "COCO classes"
    out = [f"{r.image.source}  ({r.model}, {what}): {r.summary or 'nothing found'}"]
    for o in r.objects:
        x, y, w, h = o.box
        out.append(f"  {o.score:5.0%}  {o.label}{' / ' + o.name_zh if o.name_zh else ''}  at x={x} y={y} {w}x{h}")
    if r.annotated:
        out.append(f"  boxes drawn: {r.annotated}")
    return out


@_renders("Answer")
def _answer(r) -> list[str]:
    by = {"vlm": "vision model", "vqa": "VQA model", "facts": "from the facts"}[r.source]
    return [r.answer, f"  ({by}: {r.model})" if r.source != "facts" else f"  ({by})"]


@_renders("OCRResult")
def _ocr_result(r) -> list[str]:
    out = [f"{r.image.source}  ({r.model}, {len(r.lines)} lines, {r.language})"]
    for ln in r.lines:
        out.append(f"  {ln.confidence:5.0%}  {ln.text}")
    if not r.lines:
        out.append("  no text found")
    return out


@_renders("FacesResult")
def _faces_result(r) -> list[str]:
    out = [f"{r.image.source}  ({r.model}): {len(r.faces)} face(s)"]
    for f in r.faces:
        x, y, w, h = f.box
        lm = " + landmarks" if f.landmarks else ""
        out.append(f"  {f.score:5.0%}  at x={x} y={y} {w}x{h}{lm}")
    return out


@_renders("ColorsResult")
def _colors_result(r) -> list[str]:
    out = [f"{r.image.source}" + ("  (greyscale)" if r.is_grayscale else "")]
    for c in r.colors:
        out.append(f"  {c.fraction:5.0%}  {c.hex}  {c.name} / {c.name_zh}")
    return out


@_renders("QualityResult")
def _quality_result(r) -> list[str]:
    b = f"{r.brisque:.1f}" if r.brisque is not None else "n/a"
    out = [f"{r.image.source}: {r.verdict}" + (f" ({', '.join(r.issues)})" if r.issues else ""),
           f"  {r.image.width}x{r.image.height} ({r.megapixels:.1f} MP)  sharpness {r.sharpness:.0f}"
           f"  exposure {r.exposure:.2f}  contrast {r.contrast:.2f}  noise {r.noise:.1f}  BRISQUE {b}"]
    return out


@_renders("MetadataResult")
def _metadata_result(r) -> list[str]:
    from ..places import label, time_label

    out = [r.image.source]
    for k, v in r.model_dump(exclude={"image", "place", "time"}, exclude_none=True).items():
        if k == "has_gps" and r.gps is not None:
            continue
        out.append(f"  {k}: {v}")
    if r.time is not None:
        out.append(f"  taken: {time_label(r.time)}" if r.time.known else f"  taken: unknown ({r.time.problem})")
    if r.place is not None:
        out.append(f"  place: {label(r.place, district=True)} / {label(r.place, 'zh', district=True)}")
    return out


@_renders("ModerationResult")
def _moderation_result(r) -> list[str]:
    out = [f"{r.image.source}  ({r.model}): {'UNSAFE' if r.unsafe else 'safe'}"]
    for k, v in sorted(r.scores.items(), key=lambda kv: -kv[1])[:8]:
        out.append(f"  {v:5.0%}  {k}")
    return out


@_renders("Analysis")
def _analysis(r) -> list[str]:
    i = r.image
    out = [f"{i.source}  {i.width}x{i.height} {i.format or ''}".rstrip() + (f"  (RAW: {i.raw})" if i.raw else "")]
    if r.video is not None:
        return out + _video_analysis(r)
    if r.labels:
        top = ", ".join(f"{lab.name} ({lab.score:.0%})" for lab in r.labels[:3])
        out.append(f"  labels:  {top}")
    if r.faces is not None:
        out.append(f"  faces:   {len(r.faces.faces)}")
    if r.text is not None and r.text.text:
        t = r.text.text.replace("\n", " / ")
        out.append(f"  text:    {t[:100]}{'…' if len(t) > 100 else ''}")
    if r.colors is not None:
        out.append("  colours: " + ", ".join(f"{c.name} {c.fraction:.0%}" for c in r.colors.colors[:4]))
    if r.quality is not None:
        q = r.quality
        out.append(f"  quality: {q.verdict}" + (f" ({', '.join(q.issues)})" if q.issues else ""))
    if r.metadata is not None and (r.metadata.camera_model or r.metadata.datetime_original):
        cam = " ".join(x for x in (r.metadata.camera_make, r.metadata.camera_model) if x)
        out.append(f"  camera:  {cam or '?'} {r.metadata.datetime_original or ''}".rstrip())
    if r.moderation is not None:
        out.append(f"  safety:  {'unsafe' if r.moderation.unsafe else 'safe'}")
    if r.objects is not None:
        out.append(f"  objects: {r.objects.summary or 'none found'}")
    for w in r.warnings:
        out.append(f"  note:    {w}")
    return out


def _video_analysis(r) -> list[str]:
    """A video: its container's facts, then a few facts of each keyframe on one line."""
    from ..media import clock

    v = r.video
    out = [f"  video:   {clock(v.duration or 0)}, {v.codec or '?'}, {v.fps or '?'} fps; {v.keyframes} keyframes "
           f"(decoded in {v.decode_seconds:.1f} s)"]
    for k in r.keyframes:
        f = k.facts
        parts = [", ".join(lab.name for lab in f.labels[:2])]
        if f.faces is not None and f.faces.faces:
            parts.append(f"{len(f.faces.faces)} face{'s' if len(f.faces.faces) > 1 else ''}")
        if f.text is not None and f.text.text:
            t = f.text.text.replace("\n", " / ")
            parts.append(f"text: {t[:60]}{'…' if len(t) > 60 else ''}")
        if f.objects is not None and f.objects.summary:
            parts.append(f.objects.summary)
        out.append(f"  @ {k.timestamp}{' (new scene)' if k.scene else ''}  " + " · ".join(p for p in parts if p))
    if r.keyframes and r.keyframes[0].facts.metadata is not None:
        md = r.keyframes[0].facts.metadata
        cam = " ".join(x for x in (md.camera_make, md.camera_model) if x)
        if cam or md.datetime_original:
            out.append(f"  camera:  {cam or '?'} {md.datetime_original or ''}".rstrip())
    for w in r.warnings:
        out.append(f"  note:    {w}")
    return out


@_renders("Description")
def _description(r) -> list[str]:
    return r.text.splitlines() or [""]


def _head(r, what: str) -> list[str]:
    dest = r.output or "(not written)"
    out = [f"{r.image.source} -> {dest}  {what}"]
    out += [f"  note: {n}" for n in r.notes]
    if r.provenance is not None:
        out += render(r.provenance)
    return out


@_renders("UpscaleResult")
def _upscale_result(r) -> list[str]:
    i = r.image
    return _head(r, f"{i.width}x{i.height} -> {r.width}x{r.height} ({r.scale}x, {r.model}, "
                      f"{r.tiles} tile(s), {r.seconds:.1f} s, peak {r.peak_memory_mb:.0f} MiB)")


@_renders("DenoiseResult")
def _denoise_result(r) -> list[str]:
    what = ("already clean, copied" if r.skipped else
            f"noise {r.noise_before:.1f} -> {r.noise_after:.1f} (h={r.h:.1f}, {r.seconds:.1f} s)")
    return _head(r, what)


@_renders("InpaintResult")
def _inpaint_result(r) -> list[str]:
    x, y, w, h = r.region
    return _head(r, f"{r.method}: filled {r.filled_pixels} px ({r.filled_fraction:.1%}) "
                      f"in {w}x{h} at x={x} y={y} ({r.seconds:.1f} s)")


@_renders("RestoreResult")
def _restore_result(r) -> list[str]:
    done = [s.name for s in r.steps if s.applied]
    out = _head(r, ("applied " + ", ".join(done)) if done else "nothing needed changing")
    for s in r.steps:
        out.append(f"  {'+' if s.applied else '-'} {s.name}: {s.detail}")
    return out


@_renders("BlurFacesResult")
def _blur_faces_result(r) -> list[str]:
    out = _head(r, f"{len(r.regions)} face(s) {'pixelated' if r.method == 'pixelate' else 'blurred'}"
                     f" ({r.model})")
    for x, y, w, h in r.regions:
        out.append(f"  x={x} y={y} {w}x{h}")
    return out


@_renders("RedactResult")
def _redact_result(r) -> list[str]:
    done = {"blur": "blurred", "pixelate": "pixelated", "fill": "filled"}[r.method]
    out = _head(r, f"{len(r.regions)} region(s) {done} for {', '.join(r.find)} ({r.model})")
    for o, (x, y, w, h) in zip(r.objects, r.regions):
        out.append(f"  {o.label} {o.score:.0%}: x={x} y={y} {w}x{h}")
    return out


@_renders("StripResult")
def _strip_result(r) -> list[str]:
    how = "re-encoded" if r.reencoded else "pixels untouched"
    out = _head(r, f"{how}, {r.bytes_before} -> {r.bytes_after} bytes")
    out += [f"  removed: {r}" for r in r.removed] or ["  removed: nothing (no metadata found)"]
    out += [f"  kept: {k}" for k in r.kept]
    if r.orientation_applied:
        out.append(f"  orientation {r.orientation_applied} applied to the pixels")
    return out


@_renders("WatermarkDetection")
def _watermark_detection(r) -> list[str]:
    head = f"{r.image.source}: " if r.image else ""
    if not r.found:
        return [f"{head}no watermark ({r.method}, confidence {r.confidence:.2f}, check {r.check})"]
    what = repr(r.payload) if r.payload is not None else f"hash {r.payload_hash}"
    out = [f"{head}watermark {what} ({r.method}, confidence {r.confidence:.2f}"
           + (f", {r.corrected_bits} weak bit(s) corrected" if r.corrected_bits else "") + ")"]
    if r.matches is not None:
        out.append(f"  given payload: {'matches' if r.matches else 'does NOT match'}")
    return out


@_renders("WatermarkEmbedResult")
def _watermark_embed_result(r) -> list[str]:
    what = repr(r.payload) + (" (as a 48-bit hash)" if r.stored_as == "hash" and r.bits == 64
                                 else " (as a hash)" if r.stored_as == "hash" else "")
    out = [f"{r.image.source} -> {r.output}  watermark {what}, {r.method}, PSNR {r.psnr:.1f} dB",
           f"  read back: {'ok' if r.verified else 'FAILED'} (confidence {r.confidence:.2f})"]
    out += [f"  note: {n}" for n in r.notes]
    return out


@_renders("ManifestReport")
def _manifest_report(r) -> list[str]:
    out = [f"  content credentials: {r.state}"]
    if r.signer is not None:
        s = r.signer
        dev = "  (ocula development certificate: untrusted)" if s.development else ""
        out.append(f"    signed by: {s.subject or s.common_name or '?'}; issuer {s.issuer or '?'}{dev}")
    for a in r.actions:
        extra = "; ".join(x for x in (a.description, a.software_agent and f"by {a.software_agent}",
                                      a.digital_source_type and a.digital_source_type.rsplit('/', 1)[-1]) if x)
        out.append(f"    action: {a.action}" + (f" ({extra})" if extra else ""))
    for i in r.ingredients:
        cr = ", has its own credentials" if i.has_manifest else ""
        out.append(f"    ingredient: {i.title or '?'} ({i.relationship or '?'}, {i.format or '?'}{cr})")
    if r.soft_binding:
        out.append(f"    declared watermark: {r.soft_binding}")
    for f in r.failures:
        out.append(f"    FAILED: {f.code}" + (f": {f.explanation}" if f.explanation else ""))
    out += [f"    warning: {w}" for w in r.warnings]
    return out


@_renders("SignResult")
def _sign_result(r) -> list[str]:
    acts = ", ".join(a.action + (f" ({a.ocula_action})" if a.ocula_action and a.ocula_action not in a.action
                                 else "") for a in r.actions) or "none"
    s = r.signer
    out = [f"{r.image.source} -> {r.output}  signed ({r.format}, {r.manifest_bytes} bytes of manifest)",
           f"  actions: {acts}" + ("; AI-generated content declared" if r.generated else ""),
           f"  parent ingredient: {r.ingredient or 'none'}",
           f"  signer: {s.subject or s.common_name}"]
    if s.development:
        out.append("  warning: signed with ocula's local development certificate: anyone can make one, so "
                   "verifiers will say 'untrusted'; pass --cert/--key for a certificate others trust")
    out += [f"  note: {n}" for n in r.notes]
    return out


@_renders("VerifyResult")
def _verify_result(r) -> list[str]:
    out = [f"{r.image.source}: {'ok' if r.ok else 'FAILED'}"]
    out += render(r.manifest)
    if r.watermark is not None:
        out += ["  " + line for line in render(r.watermark)]
    m = r.metadata
    if m is not None:
        cam = " ".join(x for x in (m.camera_make, m.camera_model) if x)
        bits = [f"camera {cam}" if cam else None, f"software {m.software}" if m.software else None,
                f"taken {m.datetime_original}" if m.datetime_original else None,
                "has GPS" if m.has_gps else None]
        out.append("  metadata: " + ("; ".join(b for b in bits if b) or "no camera metadata"))
    out += [f"  note: {n}" for n in r.notes]
    return out


@_renders("ProvenanceReport")
def _provenance_report(r) -> list[str]:
    out = []
    if r.watermarked:
        ok = "read back ok" if r.watermark_verified else "NOT read back"
        out.append(f"  watermark: {r.watermark_payload!r} ({r.watermark_method}, {ok})")
    if r.signed:
        dev = " (untrusted development certificate)" if r.development_certificate else ""
        out.append(f"  signed: {', '.join(r.actions)} by {r.signer}{dev}")
    out += [f"  note: {n}" for n in r.notes]
    return out


@_renders("GenerateResult")
def _generate_result(r) -> list[str]:
    what = (f"{r.mode} {r.width}x{r.height}, {r.steps} step{'s' if r.steps != 1 else ''}, "
            f"guidance {r.guidance:g}")
    if r.strength is not None:
        what += f", strength {r.strength:g}"
    if r.control:
        what += f", control {r.control}"
    out = [f"{r.model} ({r.device}, {r.dtype}): {what}"]
    for im in r.images:
        dest = im.path or "(not written)"
        tag = " (kept, already done)" if im.skipped else f" {im.seconds:.1f}s"
        out.append(f"  {dest}  seed {im.seed}{tag}  {im.prompt!r}")
        s = im.safety
        if s is not None and s.action != "none":
            why = []
            if s.prompt_terms:
                why.append("prompt terms " + ", ".join(s.prompt_terms))
            if s.image_unsafe:
                why.append("image scored unsafe")
            out.append(f"    safety: {s.action} ({'; '.join(why)})")
        if im.provenance is not None:
            out += ["  " + line for line in render(im.provenance)]
    out.append(f"  load {r.load_seconds:.1f}s, total {r.seconds:.1f}s"
               + (f", {r.seconds_per_step:.2f}s/step" if r.seconds_per_step else ""))
    out += [f"  note: {n}" for n in r.notes]
    return out


@_renders("IndexReport")
def _index_report(r) -> list[str]:
    out = [f"{r.db}: {r.images} images indexed ({r.seconds:.1f}s)",
           f"  seen {r.seen}, unchanged {r.unchanged}, analysed {r.analysed}, renamed {r.renamed}, "
           f"copied {r.copied}, removed {r.removed}, failed {len(r.failed)}, "
           f"known bad {r.skipped_bad}"]
    if r.reembedded:
        out.append(f"  re-embedded {r.reembedded} for a new model")
    if r.places_read:
        out.append(f"  read where and when for {r.places_read} indexed before")
    if r.moments:
        out.append(f"  {r.moments} moment(s) made or changed (ocula moments lists them)")
    if r.videos:
        out.append(f"  {r.videos} video(s): {r.frames} keyframes indexed")
    if r.faces or r.new_people or r.named_from_xmp:
        xmp = f", {r.named_from_xmp} named from XMP face regions" if r.named_from_xmp else ""
        out.append(f"  faces {r.faces}, new people {r.new_people}{xmp} (ocula people lists them)")
    for w in r.warnings:
        out.append(f"  note: {w}")
    if r.images_per_second:
        per = (f" ({r.images_per_second / r.workers:.2f} per worker, {r.workers} worker"
               f"{'s' if r.workers > 1 else ''})") if r.workers else ""
        out.append(f"  {r.images_per_second:.2f} images/s{per}")
    for f in r.failed:
        out.append(f"  bad: {f.source}: {f.error}")
    return out


@_renders("SearchResult")
def _search_result(r) -> list[str]:
    understood = [x for x in (", ".join(map(str, r.years)) and f"taken in {' or '.join(map(str, r.years))}",
                              r.places and f"place: {', '.join(r.places)}", r.near,
                              r.moment and f"moment {r.moment}") if x]
    head = [f"({'; '.join(understood)})"] if understood else []
    if not r.hits:
        return head + [f"no matches for {r.query!r} among {r.total} images"]
    out = head
    for i, h in enumerate(r.hits, 1):
        via = ", ".join(f"{k} #{v}" for k, v in h.ranks.items())
        at = f" @ {h.timestamp}" if h.timestamp else ""
        out.append(f"{i:>3}. {h.path}{at}  ({h.score:.4f}; {via})")
        if h.also_at:
            from ..media import clock

            out.append("     also at " + ", ".join(clock(t) for t in h.also_at[:8]))
        where = " / ".join(x for x in (h.place, h.place_zh) if x)
        if where or h.captured:
            out.append(f"     {' · '.join(x for x in (h.captured and h.captured.replace('T', ' '), where) if x)}")
        if h.description:
            out.append(f"     {h.description}")
    return out


@_renders("MomentsResult")
def _moments_result(r) -> list[str]:
    out = [f"{r.source}: {len(r.moments)} moment(s) of {r.photos} photos"
           + (f"; {r.undated} without a capture time (not grouped)" if r.undated else "")]
    for m in r.moments:
        out.append(f"  {m.id}  {m.title} / {m.title_zh}  ({m.count} photo{'s' if m.count != 1 else ''})")
        out.append(f"      cover: {m.cover_path or m.cover}")
    for f in r.failed:
        out.append(f"  bad: {f.source}: {f.error}")
    return out


@_renders("DupesResult")
def _dupes_result(r) -> list[str]:
    if not r.groups:
        return [f"no duplicates among {r.images} images"]
    out = []
    for i, g in enumerate(r.groups, 1):
        extra = "" if g.kind == "exact" else f", distance <= {g.distance}, similarity >= {g.similarity:.3f}"
        out.append(f"group {i} ({g.kind}, {len(g.paths)} files{extra}):")
        out += [f"  {p}" for p in g.paths]
    return out


@_renders("IndexStats")
def _index_stats(r) -> list[str]:
    vec = ", ".join(f"{k} {n} ({r.models.get(k, '?')})" for k, n in r.vectors.items())
    return [f"{r.db} (schema {r.schema_version}, {r.bytes / 1e6:.1f} MB)",
            f"  {r.images} images, {r.with_text} with text, {r.with_faces} with faces, {r.errors} bad files"
            + (f"; {r.videos} videos ({r.frames} keyframes)" if r.videos else ""),
            f"  where and when: {r.with_time} with a capture time, {r.with_place} with a place, {r.with_gps} with "
            f"GPS coordinates, {r.moments} moments",
            f"  vectors: {vec or 'none'}", f"  people: {r.people}, faces stored: {r.faces}"]


# --- people -----------------------------------------------------------------------------------

def _person_line(p) -> str:
    aliases = f" (also {', '.join(p.aliases)})" if p.aliases else ""
    sample = f"  e.g. {p.sample}" if p.sample else ""
    return f"{p.id:>5}  {p.label}{aliases}: {p.faces} face(s), {p.photos} photo(s){sample}"


@_renders("PeopleList")
def _people_list(r) -> list[str]:
    if not r.people:
        out = [f"no people in {r.db} yet ({r.faces} face(s) stored; a person appears when 3 faces look alike, "
               f"or when you name one: ocula people name IMAGE NAME)"]
    else:
        out = [_person_line(p) for p in r.people]
        out.append(f"{len(r.people)} people; {r.unknown} of {r.faces} faces belong to nobody yet")
    return out + [f"note: {w}" for w in r.warnings]


@_renders("PersonDetail")
def _person_detail(r) -> list[str]:
    out = [_person_line(r.person).strip()]
    for ph in r.photos:
        how = "named here" if ph.locked else (f"distance {ph.distance:.2f}" if ph.distance is not None else
                                             "named in its metadata" if ph.face is None else "")
        box = f"  face {','.join(map(str, ph.box))}" if ph.box else ""
        out.append(f"  {ph.path}{box}  ({how})" if how else f"  {ph.path}{box}")
    return out


@_renders("NameResult")
def _name_result(r) -> list[str]:
    return [r.message]


@_renders("MergeResult")
def _merge_result(r) -> list[str]:
    kept = f"; {', '.join(r.aliases)} kept as alias(es)" if r.aliases else ""
    return [f"person {r.removed} merged into {r.person.label} (person {r.person.id}): {r.moved} face(s) moved{kept}"]


@_renders("ForgetReport")
def _forget_report(r) -> list[str]:
    who = "everyone" if r.person is None else f"person {r.person}" + (f" ({r.name})" if r.name else "")
    out = [f"forgot {who} in {r.db}: {r.faces} face(s) with their embeddings, {r.people} person/people, "
           f"{r.aliases} alias(es), {r.names} name(s) from photo metadata, {r.rejections} 'not this person' record(s)"]
    out.append("  the index's journal was emptied and the file vacuumed" if r.wal_emptied else
               "  the index's journal could NOT be emptied")
    return out + [f"  note: {n}" for n in r.notes]


@_renders("ExportReport")
def _export_report(r) -> list[str]:
    out = [f"{r.images} photo(s) with named faces: {r.written} written, {r.unchanged} already up to date, "
           f"{len(r.failed)} failed"]
    for f in r.files:
        kept = f" (kept {len(f.kept)} region(s) a person wrote)" if f.kept else ""
        out.append(f"  {f.status} {f.path}: {', '.join(f.names) or 'no new region'}{kept}")
    out += [f"  failed: {f.source}: {f.error}" for f in r.failed]
    return out


@_renders("WhoResult")
def _who_result(r) -> list[str]:
    out = [f"{r.image.source}: " + (f"{len(r.faces)} face(s)" if r.faces else "no face found")]
    for f in r.faces:
        box = ",".join(map(str, f.box))
        if f.person is not None:
            who = f.name or f"person {f.person} (unnamed)"
            out.append(f"  {box}  {who}  (distance {f.distance:.2f})")
        else:
            near = f", nearest {f.nearest} at {f.nearest_distance:.2f}" if f.nearest and f.nearest_distance else ""
            out.append(f"  {box}  unknown{near}" + (f": {f.note}" if f.note else ""))
    return out + [f"  note: {w}" for w in r.warnings]


@_renders("TrainReport")
def _train_report(r) -> list[str]:
    n_tr, n_va = sum(r.train_counts), sum(r.val_counts)
    out = [f"{r.model_dir}  ({r.mode}, augment {r.augment}, seed {r.seed})",
           f"  {len(r.classes)} classes, {n_tr} training / {n_va} validation images"]
    if r.skipped:
        out.append(f"  skipped {len(r.skipped)}:")
        out += [f"    {f.source}: {f.error}" for f in r.skipped[:10]]
        if len(r.skipped) > 10:
            out.append(f"    ... {len(r.skipped) - 10} more (see --json)")
    out += [f"  warning: {w}" for w in r.warnings]
    if r.epochs_run:
        stop = ", stopped early" if r.stopped_early else ""
        out.append(f"  {r.epochs_run} epochs (best {r.best_epoch}{stop}) in {r.train_seconds:.1f} s, "
                   f"features {r.feature_seconds:.1f} s")
    if r.accuracy is not None:
        out.append(f"  validation accuracy {r.accuracy:.1%}, macro F1 {r.macro_f1:.3f}, ECE {r.ece:.3f}")
        if r.int8_accuracy is not None:
            out.append(f"  ONNX fp32 {r.onnx_accuracy:.1%}, int8 {r.int8_accuracy:.1%} "
                       f"(agrees with fp32 on {r.int8_agreement:.1%})")
        width = max(4, max(len(c) for c in r.classes[:30]))
        out.append(f"  {'class':<{width}}  prec.  recall  F1     n")
        for m in r.per_class:
            out.append(f"  {m.name:<{width}}  {m.precision:5.2f}  {m.recall:5.2f}   {m.f1:5.2f}  {m.support}")
        if r.confusion and len(r.classes) <= 20:
            out.append("  confusion (rows true, columns predicted):")
            cw = max(3, len(str(max(max(r) for r in r.confusion))) + 1)
            out.append("  " + " " * width + "".join(f"{i:>{cw}}" for i in range(len(r.classes))))
            for i, (name, row) in enumerate(zip(r.classes, r.confusion)):
                out.append(f"  {name:<{width}}" + "".join(f"{v:>{cw}}" for v in row) + f"  ({i})")
    out += [f"  {role}: {path}" for role, path in r.files.items()]
    return out


# --- product photos: cutout, crop, product (issue 19) ----------------------------------

def _product_head(r, what: str) -> list[str]:
    return _head(r, what) + [f"  warning: {w}" for w in r.warnings]


@_renders("CutoutResult")
def _cutout_result(r) -> list[str]:
    if r.background == "mask":
        what = "matte"
    elif not r.clear_subject:
        what = "original kept"
    else:
        what = f"cut out on {r.background}" + (" with a shadow" if r.shadow else "")
    edges = "" if r.model == "input alpha" else f", edges {r.refine}"
    return _product_head(r, f"{what} ({r.model}{edges}; subject {r.subject_share:.0%} of the frame, edge "
                            f"uncertainty {r.edge_uncertainty:.2f}; {r.seconds:.1f} s)")


@_renders("CropResult")
def _crop_result(r) -> list[str]:
    x, y, w, h = r.box
    faces = f", {r.faces} face(s) kept whole" if r.faces else ""
    return _product_head(r, f"{r.aspect} crop {w}x{h} at x={x} y={y} -> {r.width}x{r.height} (by {r.guide}{faces}; "
                            f"{r.seconds:.1f} s)")


@_renders("ProductResult")
def _product_result(r) -> list[str]:
    from pathlib import Path

    up = f", upscaled with {r.upscaled}" if r.upscaled else ""
    json_note = f" + {Path(r.json_output).name}" if r.json_output else ""
    out = _product_head(r, f"{r.size}x{r.size} on white{up}{json_note} ({r.seconds:.1f} s)")
    for lang, c in r.listing.items():
        out.append(f"  {lang}: {c.title}")
        out += [f"      • {b}" for b in c.bullets]
        out.append("      " + ("、" if lang == "zh" else ", ").join(c.keywords))
    return out
