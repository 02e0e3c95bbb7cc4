// addon.cc: the Node-API binding of libhearth (capi/hearth.h).
//
// Blocking work (load, free, generate) runs on libuv's thread pool through
// Napi::AsyncWorker / AsyncProgressQueueWorker, so the event loop stays free.
// Generated tokens are queued to the JS thread and handed to the JS callback
// there. With a callback, the worker keeps at most one token ahead of JS: it
// waits until JS has handled token k-1 before delivering token k, so an abort
// requested inside a callback stops generation within one token.
#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "hearth.h"

namespace {

// Failure is a libhearth error captured on the thread that saw it.
struct Failure {
  int status = HEARTH_OK;
  std::string message;
  static Failure Capture(int status) {
    Failure f;
    f.status = status;
    f.message = hearth_last_error_message();
    if (f.message.empty()) f.message = hearth_status_name(status);
    return f;
  }
};

Napi::Error MakeError(Napi::Env env, const Failure& f) {
  Napi::Error e = Napi::Error::New(env, f.message);
  e.Set("code", Napi::String::New(env, hearth_status_name(f.status)));
  return e;
}

void ThrowIfFailed(Napi::Env env, int status) {
  if (status != HEARTH_OK) throw MakeError(env, Failure::Capture(status));
}

Napi::Error InvalidArg(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::TypeError::New(env, msg);
  e.Set("code", Napi::String::New(env, "HEARTH_INVALID_OPTION"));
  return e;
}

hearth_model HandleArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw InvalidArg(info.Env(), "model handle must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0) throw InvalidArg(info.Env(), "model handle out of range");
  return static_cast<hearth_model>(d);
}

std::string OptionalString(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return std::string();
  if (!info[i].IsString()) throw InvalidArg(info.Env(), "options must be a JSON string");
  return info[i].As<Napi::String>().Utf8Value();
}

// LoadWorker loads a model off the JS thread.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, std::string options)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)), options_(std::move(options)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    int st = hearth_model_load(path_.c_str(), options_.empty() ? nullptr : options_.c_str(), &handle_);
    if (st != HEARTH_OK) failure_ = Failure::Capture(st);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.status != HEARTH_OK) {
      deferred_.Reject(MakeError(env, failure_).Value());
      return;
    }
    deferred_.Resolve(Napi::Number::New(env, static_cast<double>(handle_)));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_, options_;
  hearth_model handle_ = 0;
  Failure failure_;
};

// FreeWorker frees a model off the JS thread (it may wait for a generation).
class FreeWorker : public Napi::AsyncWorker {
 public:
  FreeWorker(Napi::Env env, hearth_model h)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), handle_(h) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    int st = hearth_model_free(handle_);
    if (st != HEARTH_OK) failure_ = Failure::Capture(st);
  }
  void OnOK() override {
    if (failure_.status != HEARTH_OK) {
      deferred_.Reject(MakeError(Env(), failure_).Value());
      return;
    }
    deferred_.Resolve(Env().Undefined());
  }

 private:
  Napi::Promise::Deferred deferred_;
  hearth_model handle_;
  Failure failure_;
};

// GenState is shared by a generation's worker and its JS cancel function,
// which may outlive the worker.
struct GenState {
  hearth_model handle = 0;
  std::atomic<bool> abort{false};
  std::atomic<bool> running{false};
  std::mutex mu;
  std::condition_variable cv;
  uint64_t acked = 0;  // tokens JS has finished handling
};

// Generations running now. At exit they are aborted so that no thread-pool
// thread stays blocked (waiting for JS to handle a token, or generating):
// process.exit joins libuv's threads before exiting. JS calls abortAll from
// process.on("exit"); an environment cleanup hook covers worker threads.
// This set is the addon's only global state.
std::mutex liveMu;
std::set<GenState*> live;

void AbortAll() {
  std::lock_guard<std::mutex> lk(liveMu);
  for (GenState* s : live) {
    s->abort = true;
    s->cv.notify_all();
    hearth_cancel(s->handle);
  }
}

struct TokenMsg {
  int32_t id;
  std::string piece;
};

class GenerateWorker : public Napi::AsyncProgressQueueWorker<TokenMsg> {
 public:
  GenerateWorker(Napi::Env env, hearth_model h, bool useText, std::string text, std::vector<int32_t> ids,
                 std::string options, Napi::Function onToken, std::shared_ptr<GenState> state)
      : Napi::AsyncProgressQueueWorker<TokenMsg>(env), deferred_(Napi::Promise::Deferred::New(env)),
        handle_(h), useText_(useText), text_(std::move(text)), ids_(std::move(ids)),
        options_(std::move(options)), state_(std::move(state)) {
    if (!onToken.IsEmpty()) onToken_ = Napi::Persistent(onToken);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    progress_ = &progress;
    state_->running = true;
    {
      std::lock_guard<std::mutex> lk(liveMu);
      live.insert(state_.get());
    }
    if (state_->abort) {
      aborted_before_start_ = true;
    } else {
      char* out = nullptr;
      int st = hearth_generate(handle_, useText_ ? text_.data() : nullptr, text_.size(),
                               ids_.empty() ? nullptr : ids_.data(), ids_.size(),
                               options_.empty() ? nullptr : options_.c_str(), &GenerateWorker::OnTokenC, this, &out);
      if (st != HEARTH_OK) {
        failure_ = Failure::Capture(st);
      } else {
        result_.assign(out);
        hearth_free(out);
      }
    }
    {
      std::lock_guard<std::mutex> lk(liveMu);
      live.erase(state_.get());
    }
    state_->running = false;
    progress_ = nullptr;
  }

  void OnProgress(const TokenMsg* data, size_t count) override {
    Napi::Env env = Env();
    for (size_t i = 0; i < count; i++) {
      if (callbackError_.IsEmpty() && !onToken_.IsEmpty()) {
        try {
          onToken_.Call({Napi::Number::New(env, data[i].id),
                         Napi::String::New(env, data[i].piece.data(), data[i].piece.size())});
        } catch (const Napi::Error& e) {
          // The thrown value may be a primitive, and Node-API 8 only references
          // objects: keep it in a holder object.
          Napi::Object holder = Napi::Object::New(env);
          holder.Set("error", e.Value());
          callbackError_ = Napi::Persistent(holder);
          state_->abort = true;
        }
      }
    }
    {
      std::lock_guard<std::mutex> lk(state_->mu);
      state_->acked += count;
    }
    state_->cv.notify_all();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!callbackError_.IsEmpty()) {
      deferred_.Reject(callbackError_.Value().Get("error"));
    } else if (failure_.status != HEARTH_OK) {
      deferred_.Reject(MakeError(env, failure_).Value());
    } else if (aborted_before_start_) {
      deferred_.Resolve(env.Null());
    } else {
      deferred_.Resolve(Napi::String::New(env, result_));
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  // OnTokenC runs on the worker thread inside hearth_generate.
  static int OnTokenC(void* user, int32_t id, const char* piece, size_t len) {
    auto* w = static_cast<GenerateWorker*>(user);
    GenState& s = *w->state_;
    if (s.abort) return 1;
    if (w->onToken_.IsEmpty()) return 0;
    {
      // Stay at most one token ahead of JS.
      std::unique_lock<std::mutex> lk(s.mu);
      while (s.acked < w->sent_ && !s.abort) {
        s.cv.wait_for(lk, std::chrono::milliseconds(50));
      }
    }
    if (s.abort) return 1;
    TokenMsg msg{id, std::string(piece == nullptr ? "" : piece, len)};
    w->progress_->Send(&msg, 1);
    w->sent_++;
    return 0;
  }

  Napi::Promise::Deferred deferred_;
  hearth_model handle_;
  bool useText_;
  std::string text_;
  std::vector<int32_t> ids_;
  std::string options_;
  std::shared_ptr<GenState> state_;
  Napi::FunctionReference onToken_;
  Napi::ObjectReference callbackError_;  // {error: the value a callback threw}
  const ExecutionProgress* progress_ = nullptr;
  uint64_t sent_ = 0;
  bool aborted_before_start_ = false;
  std::string result_;
  Failure failure_;
};

Napi::Value AbiVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), hearth_abi_version());
}

Napi::Value Version(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), hearth_version()); }

// load(path, optionsJSON?) -> Promise<handle>
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw InvalidArg(env, "model path must be a string");
  auto* w = new LoadWorker(env, info[0].As<Napi::String>().Utf8Value(), OptionalString(info, 1));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// free(handle) -> Promise<void>
Napi::Value Free(const Napi::CallbackInfo& info) {
  auto* w = new FreeWorker(info.Env(), HandleArg(info, 0));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// info(handle) -> JSON string
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char* out = nullptr;
  ThrowIfFailed(env, hearth_model_info(HandleArg(info, 0), &out));
  Napi::String s = Napi::String::New(env, out);
  hearth_free(out);
  return s;
}

// tokenize(handle, text, addSpecial, parseSpecial) -> Int32Array
Napi::Value Tokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  hearth_model h = HandleArg(info, 0);
  if (info.Length() < 2 || !info[1].IsString()) throw InvalidArg(env, "text must be a string");
  std::string text = info[1].As<Napi::String>().Utf8Value();
  bool addSpecial = info.Length() > 2 && info[2].ToBoolean().Value();
  bool parseSpecial = info.Length() > 3 && info[3].ToBoolean().Value();
  int32_t* ids = nullptr;
  size_t n = 0;
  ThrowIfFailed(env, hearth_tokenize(h, text.data(), text.size(), addSpecial, parseSpecial, &ids, &n));
  Napi::Int32Array arr = Napi::Int32Array::New(env, n);
  for (size_t i = 0; i < n; i++) arr[i] = ids[i];
  hearth_free(ids);
  return arr;
}

std::vector<int32_t> IdsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw InvalidArg(info.Env(), "token ids must be an Int32Array");
  Napi::Int32Array a = info[i].As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

// detokenize(handle, Int32Array) -> string
Napi::Value Detokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  hearth_model h = HandleArg(info, 0);
  std::vector<int32_t> ids = IdsArg(info, 1);
  char* out = nullptr;
  size_t len = 0;
  ThrowIfFailed(env, hearth_detokenize(h, ids.data(), ids.size(), &out, &len));
  Napi::String s = Napi::String::New(env, out, len);
  hearth_free(out);
  return s;
}

// generate(handle, prompt: string | Int32Array, optionsJSON, onToken?) ->
//   { promise: Promise<resultJSON | null>, cancel(): void }
// The promise resolves to null when cancel() ran before generation started.
Napi::Value Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  hearth_model h = HandleArg(info, 0);
  bool useText = false;
  std::string text;
  std::vector<int32_t> ids;
  if (info.Length() > 1 && info[1].IsString()) {
    useText = true;
    text = info[1].As<Napi::String>().Utf8Value();
  } else {
    ids = IdsArg(info, 1);
  }
  std::string options = OptionalString(info, 2);
  Napi::Function onToken;
  if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
    if (!info[3].IsFunction()) throw InvalidArg(env, "onToken must be a function");
    onToken = info[3].As<Napi::Function>();
  }
  auto state = std::make_shared<GenState>();
  state->handle = h;
  auto* w = new GenerateWorker(env, h, useText, std::move(text), std::move(ids), std::move(options), onToken, state);
  Napi::Object job = Napi::Object::New(env);
  job.Set("promise", w->Promise());
  job.Set("cancel", Napi::Function::New(env, [state, h](const Napi::CallbackInfo&) {
            state->abort = true;
            state->cv.notify_all();
            if (state->running) hearth_cancel(h);
          }, "cancel"));
  w->Queue();
  return job;
}

// ---- Model cache (hearth.h "Model cache") ----------------------------------

// CallWorker runs one blocking libhearth call that may write a malloc'd string.
class CallWorker : public Napi::AsyncWorker {
 public:
  using Fn = std::function<int(char**)>;
  CallWorker(Napi::Env env, Fn fn)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fn_(std::move(fn)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    char* out = nullptr;
    int st = fn_(&out);
    if (st != HEARTH_OK) {
      failure_ = Failure::Capture(st);
    } else if (out != nullptr) {
      result_.assign(out);
    }
    hearth_free(out);
  }
  void OnOK() override {
    if (failure_.status != HEARTH_OK) {
      deferred_.Reject(MakeError(Env(), failure_).Value());
      return;
    }
    deferred_.Resolve(Napi::String::New(Env(), result_));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Fn fn_;
  std::string result_;
  Failure failure_;
};

struct ProgressMsg {
  int64_t downloaded, total;
  double bps;
};

// ResolveWorker resolves a source through the cache off the JS thread and
// queues download progress to the JS callback.
class ResolveWorker : public Napi::AsyncProgressQueueWorker<ProgressMsg> {
 public:
  ResolveWorker(Napi::Env env, std::string cacheJSON, std::string source, std::string options,
                Napi::Function onProgress, hearth_job job)
      : Napi::AsyncProgressQueueWorker<ProgressMsg>(env), deferred_(Napi::Promise::Deferred::New(env)),
        cache_(std::move(cacheJSON)), source_(std::move(source)), options_(std::move(options)), job_(job) {
    if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
  }
  ~ResolveWorker() override { hearth_job_free(job_); }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    progress_ = &progress;
    char* out = nullptr;
    int st = hearth_cache_resolve(cache_.empty() ? nullptr : cache_.c_str(), source_.c_str(),
                                  options_.empty() ? nullptr : options_.c_str(),
                                  onProgress_.IsEmpty() ? nullptr : &ResolveWorker::OnProgressC, this, job_, &out);
    if (st != HEARTH_OK) {
      failure_ = Failure::Capture(st);
    } else {
      result_.assign(out);
    }
    hearth_free(out);
    progress_ = nullptr;
  }

  void OnProgress(const ProgressMsg* data, size_t count) override {
    Napi::Env env = Env();
    for (size_t i = 0; i < count && callbackError_.IsEmpty(); i++) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("downloaded", Napi::Number::New(env, static_cast<double>(data[i].downloaded)));
      p.Set("total", Napi::Number::New(env, static_cast<double>(data[i].total)));
      p.Set("bytesPerSecond", Napi::Number::New(env, data[i].bps));
      try {
        onProgress_.Call({p});
      } catch (const Napi::Error& e) {
        callbackError_ = Napi::Reference<Napi::Value>::New(e.Value(), 1);
        hearth_job_cancel(job_);
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!callbackError_.IsEmpty()) {
      deferred_.Reject(callbackError_.Value());
    } else if (failure_.status != HEARTH_OK) {
      deferred_.Reject(MakeError(env, failure_).Value());
    } else {
      deferred_.Resolve(Napi::String::New(env, result_));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  static int OnProgressC(void* user, int64_t downloaded, int64_t total, double bps) {
    auto* w = static_cast<ResolveWorker*>(user);
    ProgressMsg m{downloaded, total, bps};
    if (w->progress_ != nullptr) w->progress_->Send(&m, 1);
    return 0;
  }

  Napi::Promise::Deferred deferred_;
  std::string cache_, source_, options_;
  hearth_job job_;
  Napi::FunctionReference onProgress_;
  Napi::Reference<Napi::Value> callbackError_;
  const ExecutionProgress* progress_ = nullptr;
  std::string result_;
  Failure failure_;
};

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw InvalidArg(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

const char* OrNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

// cacheDefaultDir() -> string
Napi::Value CacheDefaultDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char* out = nullptr;
  ThrowIfFailed(env, hearth_cache_default_dir(&out));
  Napi::String s = Napi::String::New(env, out);
  hearth_free(out);
  return s;
}

// cacheOpen(cacheJSON?) -> info JSON string (creates the folders)
Napi::Value CacheOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string c = OptionalString(info, 0);
  char* out = nullptr;
  ThrowIfFailed(env, hearth_cache_open(OrNull(c), &out));
  Napi::String s = Napi::String::New(env, out);
  hearth_free(out);
  return s;
}

// cacheResolve(cacheJSON, source, optionsJSON, onProgress?) ->
//   { promise: Promise<resultJSON>, cancel(): void }
Napi::Value CacheResolve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string c = OptionalString(info, 0);
  std::string source = StringArg(info, 1, "source");
  std::string options = OptionalString(info, 2);
  Napi::Function onProgress;
  if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) {
    if (!info[3].IsFunction()) throw InvalidArg(env, "onProgress must be a function");
    onProgress = info[3].As<Napi::Function>();
  }
  hearth_job job = 0;
  ThrowIfFailed(env, hearth_job_new(&job));
  auto* w = new ResolveWorker(env, std::move(c), std::move(source), std::move(options), onProgress, job);
  Napi::Object out = Napi::Object::New(env);
  out.Set("promise", w->Promise());
  // Job handles are never reused, so a late cancel of a freed job is a harmless error.
  out.Set("cancel", Napi::Function::New(env, [job](const Napi::CallbackInfo&) { hearth_job_cancel(job); }, "cancel"));
  w->Queue();
  return out;
}

Napi::Value QueueCall(Napi::Env env, CallWorker::Fn fn) {
  auto* w = new CallWorker(env, std::move(fn));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// cacheList(cacheJSON) -> Promise<entries JSON>
Napi::Value CacheList(const Napi::CallbackInfo& info) {
  std::string c = OptionalString(info, 0);
  return QueueCall(info.Env(), [c](char** out) { return hearth_cache_list(OrNull(c), out); });
}

// cacheRemove(cacheJSON, sha256OrSource) -> Promise<"">
Napi::Value CacheRemove(const Napi::CallbackInfo& info) {
  std::string c = OptionalString(info, 0);
  std::string key = StringArg(info, 1, "sha256 or source");
  return QueueCall(info.Env(), [c, key](char**) { return hearth_cache_remove(OrNull(c), key.c_str()); });
}

// cachePrune(cacheJSON, maxBytes) -> Promise<removed entries JSON>
Napi::Value CachePrune(const Napi::CallbackInfo& info) {
  std::string c = OptionalString(info, 0);
  int64_t maxBytes = 0;
  if (info.Length() > 1 && info[1].IsNumber()) maxBytes = info[1].As<Napi::Number>().Int64Value();
  return QueueCall(info.Env(), [c, maxBytes](char** out) { return hearth_cache_prune(OrNull(c), maxBytes, out); });
}

// cacheVerify(cacheJSON) -> Promise<report JSON>
Napi::Value CacheVerify(const Napi::CallbackInfo& info) {
  std::string c = OptionalString(info, 0);
  return QueueCall(info.Env(), [c](char** out) { return hearth_cache_verify(OrNull(c), 0, out); });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Function::New(env, AbiVersion, "abiVersion"));
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("load", Napi::Function::New(env, Load, "load"));
  exports.Set("free", Napi::Function::New(env, Free, "free"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("tokenize", Napi::Function::New(env, Tokenize, "tokenize"));
  exports.Set("detokenize", Napi::Function::New(env, Detokenize, "detokenize"));
  exports.Set("generate", Napi::Function::New(env, Generate, "generate"));
  exports.Set("cacheDefaultDir", Napi::Function::New(env, CacheDefaultDir, "cacheDefaultDir"));
  exports.Set("cacheOpen", Napi::Function::New(env, CacheOpen, "cacheOpen"));
  exports.Set("cacheResolve", Napi::Function::New(env, CacheResolve, "cacheResolve"));
  exports.Set("cacheList", Napi::Function::New(env, CacheList, "cacheList"));
  exports.Set("cacheRemove", Napi::Function::New(env, CacheRemove, "cacheRemove"));
  exports.Set("cachePrune", Napi::Function::New(env, CachePrune, "cachePrune"));
  exports.Set("cacheVerify", Napi::Function::New(env, CacheVerify, "cacheVerify"));
  exports.Set("abortAll", Napi::Function::New(env, [](const Napi::CallbackInfo&) { AbortAll(); }, "abortAll"));
  env.AddCleanupHook([]() { AbortAll(); });
  if (hearth_abi_version() != HEARTH_ABI_VERSION) {
    throw Napi::Error::New(env, "hearth: libhearth ABI version mismatch; rebuild with `npm run build`");
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(hearth, Init)
