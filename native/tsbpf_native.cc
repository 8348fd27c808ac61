// tsbpf native addon: the bpf(2) syscall and the few syscalls Node lacks.
//
// Policy-free by design: no attr layouts live here. JavaScript encodes every
// bpf_attr and passes the offsets at which the addresses of other buffers
// (instructions, log, keys, values) must be written. Every argument is
// validated; bad input throws a TypeError and never reaches the kernel.
#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr size_t kMaxAttrSize = 4096;

struct Span {
  uint8_t* data;
  size_t length;
};

bool ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

// Reads a non-negative safe integer no larger than max.
bool ReadUint(Napi::Env env, const Napi::Value& value, uint64_t max, const char* what,
              uint64_t* out) {
  if (!value.IsNumber()) {
    std::string msg = std::string(what) + " must be a number";
    Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
    return false;
  }
  double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > static_cast<double>(max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    std::string msg = std::string(what) + " must be an integer in [0, " + std::to_string(max) + "]";
    Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

// Any TypedArray, DataView or ArrayBuffer: its bytes.
bool ReadBytes(Napi::Env env, const Napi::Value& value, const char* what, Span* out) {
  if (value.IsTypedArray()) {
    Napi::TypedArray ta = value.As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    out->data = static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset();
    out->length = ta.ByteLength();
    return true;
  }
  if (value.IsDataView()) {
    Napi::DataView dv = value.As<Napi::DataView>();
    out->data = static_cast<uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    out->length = dv.ByteLength();
    return true;
  }
  if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = value.As<Napi::ArrayBuffer>();
    out->data = static_cast<uint8_t*>(ab.Data());
    out->length = ab.ByteLength();
    return true;
  }
  std::string msg = std::string(what) + " must be a TypedArray, DataView or ArrayBuffer";
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// Validates (cmd, attr, pointers) and writes the buffer addresses into attr.
// pointers is an array of [offset, buffer] pairs; offset is 8-byte aligned.
bool PrepareCall(const Napi::CallbackInfo& info, uint64_t* cmd, Span* attr) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || info.Length() > 3) return ThrowType(env, "bpf(cmd, attr, pointers?) takes 2 or 3 arguments");
  if (!ReadUint(env, info[0], 1024, "cmd", cmd)) return false;
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    return ThrowType(env, "attr must be a Uint8Array");
  if (!ReadBytes(env, info[1], "attr", attr)) return false;
  if (attr->length == 0 || attr->length > kMaxAttrSize) return ThrowType(env, "attr length must be in [1, 4096]");
  if (info.Length() == 3 && !info[2].IsUndefined()) {
    if (!info[2].IsArray()) return ThrowType(env, "pointers must be an array of [offset, buffer] pairs");
    Napi::Array list = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value pair = list.Get(i);
      if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2)
        return ThrowType(env, "each pointer must be an [offset, buffer] pair");
      Napi::Array p = pair.As<Napi::Array>();
      uint64_t offset;
      if (!ReadUint(env, p.Get(0u), attr->length, "pointer offset", &offset)) return false;
      if (offset % 8 != 0 || offset + 8 > attr->length)
        return ThrowType(env, "pointer offset must be 8-byte aligned and inside attr");
      Span buf{nullptr, 0};
      Napi::Value target = p.Get(1u);
      if (!target.IsNull() && !ReadBytes(env, target, "pointer buffer", &buf)) return false;
      uint64_t address = reinterpret_cast<uintptr_t>(buf.data);
      std::memcpy(attr->data + offset, &address, sizeof(address));
    }
  }
  return true;
}

long DoBpf(uint64_t cmd, Span attr) {
  long r = syscall(__NR_bpf, static_cast<int>(cmd), attr.data, static_cast<unsigned int>(attr.length));
  return r < 0 ? -errno : r;
}

// bpf(cmd, attr, pointers?) -> result >= 0, or -errno.
Napi::Value Bpf(const Napi::CallbackInfo& info) {
  uint64_t cmd;
  Span attr;
  if (!PrepareCall(info, &cmd, &attr)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(DoBpf(cmd, attr)));
}

// Runs one bpf(2) call on the libuv pool; keeps every buffer alive meanwhile.
class BpfWorker : public Napi::AsyncWorker {
 public:
  BpfWorker(Napi::Env env, uint64_t cmd, Span attr, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env), cmd_(cmd), attr_(attr), refs_(std::move(refs)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = DoBpf(cmd_, attr_); }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(result_))); }

 private:
  uint64_t cmd_;
  Span attr_;
  std::vector<Napi::Reference<Napi::Value>> refs_;
  Napi::Promise::Deferred deferred_;
  long result_ = 0;
};

// bpfAsync(cmd, attr, pointers?) -> Promise<result or -errno>, off the main thread.
Napi::Value BpfAsync(const Napi::CallbackInfo& info) {
  uint64_t cmd;
  Span attr;
  if (!PrepareCall(info, &cmd, &attr)) return info.Env().Undefined();
  std::vector<Napi::Reference<Napi::Value>> refs;
  for (size_t i = 1; i < info.Length(); i++) refs.push_back(Napi::Persistent(info[i]));
  if (info.Length() == 3 && info[2].IsArray()) {
    Napi::Array list = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) refs.push_back(Napi::Persistent(list.Get(i)));
  }
  auto* worker = new BpfWorker(info.Env(), cmd, attr, std::move(refs));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// close(fd) -> 0 or -errno.
Napi::Value Close(const Napi::CallbackInfo& info) {
  uint64_t fd;
  if (info.Length() != 1) { ThrowType(info.Env(), "close(fd) takes 1 argument"); return info.Env().Undefined(); }
  if (!ReadUint(info.Env(), info[0], INT32_MAX, "fd", &fd)) return info.Env().Undefined();
  int r = close(static_cast<int>(fd));
  return Napi::Number::New(info.Env(), r < 0 ? -errno : 0);
}

// setns(fd, nstype) -> 0 or -errno. Affects the calling (main) thread only.
Napi::Value Setns(const Napi::CallbackInfo& info) {
  uint64_t fd, nstype;
  if (info.Length() != 2) { ThrowType(info.Env(), "setns(fd, nstype) takes 2 arguments"); return info.Env().Undefined(); }
  if (!ReadUint(info.Env(), info[0], INT32_MAX, "fd", &fd)) return info.Env().Undefined();
  if (!ReadUint(info.Env(), info[1], UINT32_MAX, "nstype", &nstype)) return info.Env().Undefined();
  int r = setns(static_cast<int>(fd), static_cast<int>(nstype));
  return Napi::Number::New(info.Env(), r < 0 ? -errno : 0);
}

// ifNameToIndex(name) -> index (> 0) or -errno, in the thread's network namespace.
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsString()) { ThrowType(info.Env(), "ifNameToIndex(name) takes a string"); return info.Env().Undefined(); }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IF_NAMESIZE || name.find('\0') != std::string::npos) {
    ThrowType(info.Env(), "interface name must be 1 to 15 bytes without NUL");
    return info.Env().Undefined();
  }
  unsigned int index = if_nametoindex(name.c_str());
  return Napi::Number::New(info.Env(), index == 0 ? -errno : static_cast<double>(index));
}

void Unmap(Napi::Env, void* data, size_t* length) {
  munmap(data, *length);
  delete length;
}

// mmap(fd, length, writable, offset) -> ArrayBuffer over the mapping, or -errno.
// The mapping is released when the ArrayBuffer is collected or passed to munmap().
Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t fd, length, offset;
  if (info.Length() != 4 || !info[2].IsBoolean()) { ThrowType(env, "mmap(fd, length, writable, offset) takes 4 arguments"); return env.Undefined(); }
  if (!ReadUint(env, info[0], INT32_MAX, "fd", &fd)) return env.Undefined();
  if (!ReadUint(env, info[1], 1ull << 40, "length", &length)) return env.Undefined();
  if (!ReadUint(env, info[3], 1ull << 40, "offset", &offset)) return env.Undefined();
  if (length == 0) { ThrowType(env, "length must be positive"); return env.Undefined(); }
  int prot = PROT_READ | (info[2].As<Napi::Boolean>().Value() ? PROT_WRITE : 0);
  void* p = mmap(nullptr, length, prot, MAP_SHARED, static_cast<int>(fd), static_cast<off_t>(offset));
  if (p == MAP_FAILED) return Napi::Number::New(env, -errno);
  return Napi::ArrayBuffer::New(env, p, length, Unmap, new size_t(length));
}

// munmap(arrayBuffer): detaches the buffer so JavaScript can never touch the
// unmapped memory; the finalizer then releases the mapping.
Napi::Value Munmap(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsArrayBuffer()) { ThrowType(info.Env(), "munmap(buffer) takes an ArrayBuffer from mmap()"); return info.Env().Undefined(); }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (!ab.IsDetached()) ab.Detach();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bpf", Napi::Function::New(env, Bpf));
  exports.Set("bpfAsync", Napi::Function::New(env, BpfAsync));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex));
  exports.Set("mmap", Napi::Function::New(env, Mmap));
  exports.Set("munmap", Napi::Function::New(env, Munmap));
  exports.Set("bpfAttrSize", Napi::Number::New(env, sizeof(union bpf_attr)));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsbpf_native, Init)
