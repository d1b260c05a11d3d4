"""The guard beside the engine users serve with: any OpenAI-compatible server as a Backend.

``vllm serve``, SGLang and llama.cpp's server share one protocol (``/v1/completions``,
``/v1/chat/completions``, ``/v1/models``). :class:`UpstreamBackend` sends generation there
and keeps nescio's part local:

- **white-box** (``local`` given: the same weights on this machine). The prompt is rendered
  locally (chat template, system prompt) and sent as text to ``/v1/completions``; the
  upstream writes the greedy answer and the sampled ones (one request per sample, each with
  its own seed); the greedy answer's internals (log-probs, entropies, top-k, the captures the
  guard's probes read, P(True), verbal confidence) come from local teacher-forced scoring
  (:meth:`HFBackend.score`) of the upstream's text. At start, :meth:`check_identity` compares
  the upstream's log-probs on fixed probe prompts with local scoring of the same answers: a
  server that names the model but runs other weights, or a quantisation beyond
  :data:`IDENTITY_TOLERANCE`, is refused.
- **black-box** (no ``local``: an API model whose weights nobody has). Questions go to
  ``/v1/chat/completions`` with nescio's system prompt; what comes back is what an API gives
  (text, chosen-token log-probs and top log-probs where offered, sampled answers, a verbal
  confidence asked in a second request). No activations, no teacher forcing: the guard is a
  black-box one (:mod:`nescio.policy.blackbox`).

Requests go out concurrently (``concurrency`` at a time). Failures are :class:`UpstreamError`
(unreachable, 5xx, malformed JSON: HTTP 502 in ``nescio serve``) and :class:`UpstreamTimeout`
(504), one line each, naming the upstream.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Sequence

from nescio.types import Generation, GenerationConfig, NescioError, Question, Sample

if TYPE_CHECKING:
    from nescio.models.backend import Backend
    from nescio.models.generation import CompletionGroup
    from nescio.models.tokens import Prompt

IDENTITY_TOLERANCE = 0.1
"""Largest mean absolute difference (nats per answer token) between the upstream's log-probs and
local scoring on the probe answers. Measured: SmolLM2's Q4_1 GGUF on llama.cpp's server against
the same GGUF dequantised in transformers (fp32) differ by 0.023 (``benchmarks/engines.py``'s proxy log);
the tiny test model under another seed differs by more than 1."""

PROBE_QUESTIONS = (
    "What is the capital of France?",
    "Who wrote Romeo and Juliet?",
    "What is the chemical symbol for gold?",
    "How many legs does a spider have?",
)
"""The fixed probe prompts of the identity check (rendered as the model's prompts)."""

MAX_TOP_LOGPROBS = 20  # what OpenAI's and vLLM's APIs allow by default


class UpstreamError(NescioError):
    """The upstream failed (unreachable, 5xx, malformed answer): HTTP 502 to a client."""

    status = 502


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer in time: HTTP 504 to a client."""

    status = 504


def api_root(url: str) -> str:
    """``url`` as the API root (``…/v1``); a one-line NescioError unless http(s)."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise NescioError(f"--upstream must be an http(s) URL such as http://127.0.0.1:8000/v1, got {url!r}")
    return url if url.endswith("/v1") else url + "/v1"


@dataclass
class Reply:
    """One choice of an upstream completion."""

    text: str
    logprobs: tuple[float, ...] | None  # chosen tokens' log-probs (None: the server gave none)
    top: tuple[dict[str, float], ...] | None  # per token: the top alternatives by token text
    finish_reason: str
    prompt_tokens: int = 0
    tokens: tuple[str, ...] | None = None  # the chosen tokens' texts, when log-probs came with them


@dataclass
class UpstreamBackend:
    """An OpenAI-compatible server behind the :class:`~nescio.models.backend.Backend` seam."""

    base_url: str
    model: str | None = None  # the upstream's model name (None: the first of its /v1/models)
    api_key: str | None = None
    local: Backend | None = None  # the same weights here: white-box; None: black-box
    concurrency: int = 8
    timeout: float = 120.0
    identity: dict | None = field(default=None, init=False)  # check_identity's figures
    last_error: str | None = field(default=None, init=False)  # the last upstream failure (None: the last call worked)
    _vocab: dict | None = field(default=None, init=False, repr=False)  # token text -> id (local tokenizer)

    def __post_init__(self) -> None:
        from nescio.extras import require

        require("upstream", "--upstream")
        import httpx

        self.base_url = api_root(self.base_url)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
                                    headers=headers, limits=httpx.Limits(max_connections=max(self.concurrency, 1)))
        if self.model is None:
            self.model = self.models()[0]

    # identity --------------------------------------------------------------
    @property
    def blackbox(self) -> bool:
        return self.local is None

    @property
    def model_id(self) -> str:
        return self.local.model_id if self.local is not None else f"upstream:{self.model}"

    @property
    def spec(self) -> str:
        return getattr(self.local, "spec", None) or str(self.model)

    @property
    def device(self) -> str:
        """Where the internals the guard reads are computed: the local weights' device ("api" black-box)."""
        return self.local.device if self.local is not None else "api"

    @property
    def device_kind(self) -> str:
        return getattr(self.local, "device_kind", "cpu") if self.local is not None else "api"

    @property
    def dtype(self) -> str:
        """The dtype of the local weights that score the answers ("api" black-box: none here)."""
        return self.local.dtype if self.local is not None else "api"

    @property
    def n_layers(self) -> int | None:
        return getattr(self.local, "n_layers", None)

    @property
    def store_key(self) -> str:
        """What keeps this upstream's stored generations apart from local ones and from another upstream's."""
        import hashlib

        mode = "blackbox" if self.local is None else "whitebox"
        return f"upstream-{mode}-" + hashlib.sha256(f"{self.base_url}|{self.model}".encode()).hexdigest()[:8]

    @property
    def prompt_format(self) -> str:
        return self.local.prompt_format if self.local is not None else "chat"

    @property
    def prompt(self) -> str:
        return getattr(self.local, "prompt", "default")

    @property
    def lm(self):
        return self._need_local("the loaded model").lm

    def run_info(self, config: GenerationConfig):
        """The generations' metadata: the local model's, generated by the upstream (black-box: the API model)."""
        from nescio.types import RunInfo

        if self.local is None:
            return RunInfo(model=self.spec, model_id=self.model_id, architecture="api", prompt_format="chat",
                           prompt_template=f"chat API {self.base_url}; system: nescio's; user: '{{question}}'",
                           config=config, dtype="api")
        info = self.local.run_info(config)
        return replace(info, prompt_template=f"{info.prompt_template}; generated by {self.base_url} ({self.model})")

    def _need_local(self, what: str):
        if self.local is None:
            raise NescioError(f"{what} needs the model's weights here; this upstream runs black-box "
                              f"(give --model with the weights {self.model} serves)")
        return self.local

    # prompts (the local tokenizer's) -----------------------------------------
    def render(self, question: Question | str) -> str:
        if self.local is not None:
            return self.local.render(question)
        return question if isinstance(question, str) else question.text

    def render_chat(self, messages: list[dict]) -> str:
        return self._need_local("a chat template").render_chat(messages)

    def encode(self, prompts: Sequence[str]) -> list[Prompt]:
        return self._need_local("tokenising").encode(prompts)

    def count_tokens(self, text: str) -> int:
        return self._need_local("counting tokens").count_tokens(text)

    @property
    def max_positions(self) -> int | None:
        return getattr(self.local, "max_positions", None)

    def decode(self, token_ids: Sequence[int]) -> str:
        return self._need_local("decoding token ids").decode(token_ids)

    def token_text(self, token_id: int) -> str:
        return self._need_local("token texts").token_text(token_id)

    # HTTP --------------------------------------------------------------------
    def _post(self, path: str, body: dict) -> dict:
        import httpx

        url = self.base_url + path
        try:
            r = self._client.post(url, json=body)
        except httpx.TimeoutException:
            self.last_error = f"upstream {url} did not answer within {self.timeout:g} s"
            raise UpstreamTimeout(self.last_error) from None
        except httpx.HTTPError as exc:
            self.last_error = f"upstream {url} is unreachable: {exc.__class__.__name__}: {exc}".rstrip(": ")
            raise UpstreamError(self.last_error) from None
        try:
            data = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            self.last_error = f"upstream {url} answered {r.status_code} with malformed JSON: {r.text[:120]!r}"
            raise UpstreamError(self.last_error) from None
        if r.status_code >= 400:
            msg = data.get("error", data) if isinstance(data, dict) else data
            msg = msg.get("message", msg) if isinstance(msg, dict) else msg
            self.last_error = f"upstream {url} answered {r.status_code}: {str(msg)[:200]}"
            raise UpstreamError(self.last_error)
        if not isinstance(data, dict):
            self.last_error = f"upstream {url} answered with a JSON {type(data).__name__}, not an object"
            raise UpstreamError(self.last_error)
        self.last_error = None
        return data

    def models(self) -> list[str]:
        """The model names the upstream serves (``GET /v1/models``)."""
        import httpx

        try:
            r = self._client.get(self.base_url + "/models", timeout=min(self.timeout, 10.0))
            data = r.json()
            names = [str(m["id"]) for m in data["data"]]
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"upstream {self.base_url}/models did not answer in time") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"upstream {self.base_url} is unreachable: {exc.__class__.__name__}: {exc}") from None
        except (ValueError, KeyError, TypeError):
            raise UpstreamError(f"upstream {self.base_url}/models did not list models as an OpenAI server does") from None
        if not names:
            raise UpstreamError(f"upstream {self.base_url} serves no model")
        return names

    def health(self) -> dict:
        """``{"status": "up"|"down", ...}`` from a short ``GET /v1/models``."""
        t = time.perf_counter()
        try:
            names = self.models()
        except UpstreamError as exc:
            return {"status": "down", "url": self.base_url, "model": self.model, "error": str(exc)}
        status = "up" if self.model in names else "down"
        out = {"status": status, "url": self.base_url, "model": self.model,
               "latency_s": round(time.perf_counter() - t, 4)}
        if status == "down":
            out["error"] = f"upstream no longer serves {self.model!r} (it serves {', '.join(names)})"
        return out

    def _parse(self, data: dict, path: str, chat: bool) -> list[Reply]:
        try:
            out = []
            usage = int((data.get("usage") or {}).get("prompt_tokens") or 0)
            for c in sorted(data["choices"], key=lambda c: c.get("index", 0)):
                text = c["message"]["content"] if chat else c["text"]
                lp = c.get("logprobs")
                logprobs = top = None
                tokens = None
                if lp and chat and lp.get("content") is not None:
                    logprobs = tuple(float(t["logprob"]) for t in lp["content"])
                    tokens = tuple(str(t.get("token", "")) for t in lp["content"])
                    top = tuple({a["token"]: float(a["logprob"]) for a in (t.get("top_logprobs") or [])}
                                for t in lp["content"])
                elif lp and not chat and lp.get("token_logprobs") is not None:
                    logprobs = tuple(float(x) if x is not None else float("nan") for x in lp["token_logprobs"])
                    top = tuple(dict(t or {}) for t in (lp.get("top_logprobs") or [{}] * len(logprobs)))
                    tokens = tuple(str(t) for t in lp["tokens"]) if lp.get("tokens") is not None else None
                out.append(Reply(text=str(text or ""), logprobs=logprobs, top=top, tokens=tokens,
                                 finish_reason=str(c.get("finish_reason") or "stop"), prompt_tokens=usage))
            if not out:
                raise KeyError("choices")
            return out
        except (KeyError, TypeError, ValueError, AttributeError):
            self.last_error = f"upstream {self.base_url}{path} answered JSON without the OpenAI fields (choices, text)"
            raise UpstreamError(self.last_error) from None

    def complete(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
                 logprobs: int | None = None, seed: int | None = None, stop: Sequence[str] = ()) -> Reply:
        """One ``/v1/completions`` call on a full prompt text."""
        body: dict[str, Any] = {"model": self.model, "prompt": prompt, "max_tokens": int(max_tokens),
                                "temperature": float(temperature)}
        if temperature > 0:
            body["top_p"] = float(top_p)
        if logprobs is not None:  # 0: the chosen tokens' log-probs, no alternatives
            body["logprobs"] = int(min(logprobs, MAX_TOP_LOGPROBS))
            if self.local is not None:  # vLLM (and nescio serve) then name tokens "token_id:N"; others ignore it
                body["return_tokens_as_token_ids"] = True
        if seed is not None:
            body["seed"] = int(seed) & 0x7FFFFFFF
        if stop:
            body["stop"] = list(stop)
        return self._parse(self._post("/completions", body), "/completions", chat=False)[0]

    def chat(self, messages: list[dict], *, max_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
             top_logprobs: int = 0, seed: int | None = None) -> Reply:
        """One ``/v1/chat/completions`` call."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": int(max_tokens),
                                "temperature": float(temperature), "logprobs": True}
        if temperature > 0:
            body["top_p"] = float(top_p)
        elif top_logprobs:
            body["top_logprobs"] = int(min(top_logprobs, MAX_TOP_LOGPROBS))
        if seed is not None:
            body["seed"] = int(seed) & 0x7FFFFFFF
        return self._parse(self._post("/chat/completions", body), "/chat/completions", chat=True)[0]

    def _map(self, fn, items: list) -> list:
        """``fn`` over ``items``, ``concurrency`` requests at a time, results in input order."""
        if len(items) <= 1 or self.concurrency <= 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items)), thread_name_prefix="upstream") as pool:
            return list(pool.map(fn, items))

    # model passes --------------------------------------------------------------
    def _prompt_texts(self, questions: Sequence[Question], prompts) -> list[str]:
        if prompts is None:
            return [self.render(q) for q in questions]
        if len(prompts) != len(questions):
            raise NescioError(f"generate got {len(prompts)} prompts for {len(questions)} questions")
        return [p if isinstance(p, str) else p.text for p in prompts]

    def _stops(self) -> tuple[str, ...]:
        return ("\n",) if self.prompt_format == "fewshot" else ()

    def _samples(self, questions: Sequence[Question], texts: Sequence[str], config: GenerationConfig) -> list[tuple]:
        """``config.n_samples`` sampled answers per question from the upstream, each with its own seed."""
        from nescio.models.sampling import seed_for

        if not config.n_samples:
            return [()] * len(questions)
        jobs = [(i, k) for i in range(len(questions)) for k in range(config.n_samples)]

        def one(job):
            i, k = job
            seed = seed_for(config.seed, questions[i].id, k)
            kw = dict(max_tokens=config.max_new_tokens, temperature=config.temperature, top_p=config.top_p, seed=seed)
            if self.local is None:
                return self.chat(self._messages(questions[i]), **kw)
            return self.complete(texts[i], logprobs=0, stop=self._stops(), **kw)

        replies = self._map(one, jobs)
        out: list[list[Sample]] = [[] for _ in questions]
        for (i, _), r in zip(jobs, replies):
            text = r.text.split("\n")[0] if self.prompt_format == "fewshot" else r.text
            text = text.strip()
            ids = self._answer_ids(text) if self.local is not None else ()
            out[i].append(Sample(text=text, token_ids=ids, token_logprobs=tuple(r.logprobs or ())))
        return [tuple(s) for s in out]

    def _answer_ids(self, text: str) -> tuple[int, ...]:
        from nescio.models.teacher import answer_token_ids

        return answer_token_ids(self.local.lm, text) if hasattr(self.local, "lm") else ()

    def _messages(self, question: Question) -> list[dict]:
        from nescio.models.prompts import system_prompt

        return [{"role": "system", "content": system_prompt(self.prompt)}, {"role": "user", "content": question.text}]

    def _greedy(self, texts: Sequence[str], config: GenerationConfig) -> list[Reply]:
        """The greedy answers, with the chosen tokens (log-probs 0: no alternatives) to recover their ids."""
        return self._map(lambda t: self.complete(t, max_tokens=config.max_new_tokens, logprobs=0, stop=self._stops()),
                         list(texts))

    def _token_ids(self, reply: Reply) -> tuple[int, ...] | None:
        """The upstream's own token ids, recovered from its token texts through the local vocabulary
        (the same tokenizer on both sides); None when a piece is unknown or ambiguous: the text is
        then tokenised again locally. Re-tokenising a text need not give the tokens the model wrote."""
        if reply.tokens and all(t.startswith("token_id:") for t in reply.tokens):
            try:
                return tuple(int(t[len("token_id:"):]) for t in reply.tokens)
            except ValueError:
                return None
        if not reply.tokens or "".join(reply.tokens) != reply.text or not hasattr(self.local, "lm"):
            return None
        if self._vocab is None:
            tok = self.local.lm.tokenizer
            special = set(getattr(tok, "all_special_ids", []) or [])
            vocab: dict[str, int | None] = {}
            for i in range(len(tok)):
                piece = tok.decode([i])
                if i in special or "\ufffd" in piece:
                    continue
                vocab[piece] = None if piece in vocab else i  # None: two ids spell it
            self._vocab = vocab
        ids = [self._vocab.get(t) for t in reply.tokens]
        return None if any(i is None for i in ids) else tuple(ids)

    def prefetch(self, questions: Sequence[Question], config: GenerationConfig,
                 prompts: Sequence[str | Prompt] | None = None):
        """Start the greedy answers upstream now (a Future of :class:`Reply` per question), so the
        local pre-check runs while the upstream generates; hand ``result()``'s subset to
        :meth:`generate` as ``prefetched``. None where there is nothing to overlap (black-box)."""
        if self.local is None or not questions:
            return None
        texts = self._prompt_texts(list(questions), prompts)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upstream-prefetch")
        future = pool.submit(self._greedy, texts, config)
        pool.shutdown(wait=False)
        return future

    def generate(self, questions: Sequence[Question], config: GenerationConfig | None = None, *,
                 progress: bool = False, prompts: Sequence[str | Prompt] | None = None,
                 prefetched: Sequence[Reply] | None = None) -> list[Generation]:
        """The upstream's greedy answers (and samples); white-box: internals by local teacher forcing.
        ``prefetched``: the greedy replies already fetched (:meth:`prefetch`)."""
        config = config or GenerationConfig()
        questions = list(questions)
        if not questions:
            return []
        if self.local is None:
            from nescio.models.upstream_blackbox import blackbox_generate

            return blackbox_generate(self, questions, config)
        if config.max_new_tokens <= 1 and not config.n_samples:  # a prompt-reading pass (the pre-check): local only
            return self.local.generate(questions, config, progress=progress, prompts=prompts)
        texts = self._prompt_texts(questions, prompts)
        replies = list(prefetched) if prefetched is not None else self._greedy(texts, config)
        if len(replies) != len(questions):
            raise NescioError(f"generate got {len(replies)} prefetched answers for {len(questions)} questions")
        answers, stops, ids = [], [], []
        for r in replies:
            text = r.text.split("\n")[0] if self.prompt_format == "fewshot" else r.text
            answers.append(text.strip() if self.prompt_format == "chat" else text)
            stops.append("max_tokens" if r.finish_reason == "length" else "eos")
            ids.append(self._token_ids(r) if text == r.text else None)
        scored = self.local.score(questions, answers, replace(config, n_samples=0), stop_reasons=stops, token_ids=ids,
                                  progress=progress, prompts=list(prompts) if prompts is not None else None)
        samples = self._samples(questions, texts, config)
        return [replace(g, samples=s) for g, s in zip(scored, samples)]

    def score(self, questions: Sequence[Question], answers: Sequence[str], config: GenerationConfig | None = None, *,
              token_ids: Sequence[Sequence[int] | None] | None = None,
              stop_reasons: Sequence[str | None] | None = None, progress: bool = False) -> list[Generation]:
        """Teacher forcing on the local weights; the samples come from the upstream, as in :meth:`generate`."""
        config = config or GenerationConfig()
        local = self._need_local("teacher-forced scoring of given answers")
        scored = local.score(questions, answers, replace(config, n_samples=0), token_ids=token_ids,
                             stop_reasons=stop_reasons, progress=progress)
        samples = self._samples(list(questions), [self.render(q) for q in questions], config)
        return [replace(g, samples=s) for g, s in zip(scored, samples)]

    def sample(self, prompts: Sequence[str], n: int, **kwargs: Any) -> list[CompletionGroup]:
        return self._need_local("sampled completions with token ids").sample(prompts, n, **kwargs)

    # the identity check ----------------------------------------------------------
    def check_identity(self, tolerance: float = IDENTITY_TOLERANCE, max_tokens: int = 12) -> dict:
        """Refuse an upstream whose log-probs on :data:`PROBE_QUESTIONS` differ from local scoring by
        more than ``tolerance`` nats per token on average (one line naming both). Returns the figures."""
        local = self._need_local("the identity check")
        qs = [Question(id=f"probe{i}", text=t) for i, t in enumerate(PROBE_QUESTIONS)]
        texts = [local.render(q) for q in qs]
        replies = self._map(lambda p: self.complete(p, max_tokens=max_tokens, logprobs=0, stop=self._stops()), texts)
        if any(r.logprobs is None for r in replies):
            raise NescioError(f"upstream {self.base_url} ({self.model}) returned no log-probs; nescio needs them to check "
                              "that it runs the local weights (vLLM and llama.cpp's server give them on /v1/completions "
                              "with \"logprobs\")")
        answers = [(r.text.split("\n")[0] if self.prompt_format == "fewshot" else r.text) for r in replies]
        stops = ["max_tokens" if r.finish_reason == "length" else "eos" for r in replies]
        ids = [self._token_ids(r) if a == r.text else None for a, r in zip(answers, replies)]
        mine = local.score(qs, [a.strip() if self.prompt_format == "chat" else a for a in answers],
                           GenerationConfig(max_new_tokens=max_tokens, top_k=1), stop_reasons=stops, token_ids=ids)
        diffs, n_tok, same_len = [], 0, 0
        for r, g in zip(replies, mine):
            theirs = [x for x in (r.logprobs or ()) if math.isfinite(x)]
            ours = list(g.token_logprobs)
            if len(theirs) == len(ours) and ours:
                same_len += 1
                diffs.extend(abs(a - b) for a, b in zip(theirs, ours))
            elif ours or theirs:  # another tokenisation: compare per-token averages of the whole answer
                n = max(len(ours), 1)
                diffs.extend([abs(sum(theirs) - sum(ours)) / n] * n)
            n_tok += len(ours)
        mean = float(sum(diffs) / len(diffs)) if diffs else float("inf")
        self.identity = {"mean_abs_logprob_diff": round(mean, 5), "max_abs_logprob_diff": round(max(diffs, default=0.0), 5),
                         "tolerance": tolerance, "probe_prompts": len(qs), "answer_tokens": n_tok,
                         "same_tokenisation": same_len, "upstream": self.base_url, "upstream_model": self.model}
        if not mean <= tolerance:
            raise NescioError(
                f"upstream {self.base_url} ({self.model}) does not run the local model {local.model_id}: its log-probs on "
                f"the probe prompts differ from local scoring by {mean:.3f} nats per token (tolerance {tolerance:g}); "
                "serve the same weights upstream, or give --model the weights the upstream serves")
        return self.identity

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class UpstreamSettings:
    """``--upstream`` and its options, checked (``nescio.cli.upstream.upstream_settings``)."""

    url: str
    model: str | None = None
    api_key: str | None = None
    timeout: float = 120.0
    concurrency: int = 8
    blackbox: bool = False


def connect(settings: UpstreamSettings, local=None, *, check: bool = True):
    """The :class:`~nescio.models.upstream.UpstreamBackend` (white-box over ``local`` unless
    ``settings.blackbox``), its identity checked against ``local``."""
    backend = UpstreamBackend(settings.url, model=settings.model, api_key=settings.api_key,
                              local=None if settings.blackbox else local, timeout=settings.timeout,
                              concurrency=settings.concurrency)
    if check and not settings.blackbox:
        backend.check_identity()
    return backend


def describe(backend) -> str:
    """One line on the upstream for logs and the console."""
    ident = getattr(backend, "identity", None)
    mode = "black-box (no local weights)" if backend.blackbox else "white-box"
    line = f"upstream {backend.base_url} (model {backend.model}), {mode}"
    if ident:
        line += (f"; identity check: mean |Δ log-prob| {ident['mean_abs_logprob_diff']:.3f} nats/token "
                 f"≤ {ident['tolerance']:g} on {ident['probe_prompts']} probe prompts")
    return line
