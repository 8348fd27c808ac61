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

// --- Hot path for map operations (K1) ---------------------------------------
// Plain N-API (no C++ wrappers) and as few engine calls as possible: a map
// keeps one attr per command with its key/value addresses written once (from
// addressOf), so each lookup or update costs one typed-array query and the
// syscall. The addresses stay valid because the map holds the buffers.

napi_value ThrowTypeRaw(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

// bpfFast(cmd, attr) -> result >= 0, or -errno. attr is a Uint8Array of 1 to
// 4096 bytes whose pointer members are already filled in; cmd is below 1024.
napi_value BpfFast(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok || argc != 2)
    return ThrowTypeRaw(env, "bpfFast(cmd, attr) takes 2 arguments");
  uint32_t cmd;
  if (napi_get_value_uint32(env, argv[0], &cmd) != napi_ok || cmd >= 1024)
    return ThrowTypeRaw(env, "cmd must be an integer in [0, 1023]");
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array)
    return ThrowTypeRaw(env, "attr must be a Uint8Array");
  if (length == 0 || length > kMaxAttrSize) return ThrowTypeRaw(env, "attr length must be in [1, 4096]");
  long r = DoBpf(cmd, Span{static_cast<uint8_t*>(data), length});
  napi_value out;
  napi_create_int32(env, static_cast<int32_t>(r), &out);
  return out;
}

// addressOf(buffer) -> the address of the first byte of a TypedArray, DataView
// or ArrayBuffer, as a number (user-space addresses fit in 53 bits). Asking
// for it moves a small on-heap typed array's bytes off the heap, so the
// address stays valid as long as the buffer is alive.
Napi::Value AddressOf(const Napi::CallbackInfo& info) {
  Span buf{nullptr, 0};
  if (info.Length() != 1) { ThrowType(info.Env(), "addressOf(buffer) takes 1 argument"); return info.Env().Undefined(); }
  if (!ReadBytes(info.Env(), info[0], "buffer", &buf)) return info.Env().Undefined();
  uint64_t address = reinterpret_cast<uintptr_t>(buf.data);
  if (address >= (1ull << 53)) { ThrowType(info.Env(), "address does not fit a double"); return info.Env().Undefined(); }
  return Napi::Number::New(info.Env(), static_cast<double>(address));
}

// Registered attrs: the hottest path. A map registers each of its element
// attrs once (registerAttr keeps a strong reference, so the bytes stay put)
// and then names it by slot number: bpfSlot(cmd | slot << 10) reads one
// integer and makes the syscall, with no typed-array query per call.
struct SlotTable {
  struct Slot {
    uint8_t* data = nullptr;
    size_t length = 0;
    napi_ref ref = nullptr;
  };
  std::vector<Slot> slots;
  std::vector<uint32_t> free;
};

constexpr uint32_t kMaxSlots = 1u << 22;

SlotTable* TableOf(napi_env env, napi_callback_info cbinfo, size_t* argc, napi_value* argv) {
  void* data = nullptr;
  if (napi_get_cb_info(env, cbinfo, argc, argv, nullptr, &data) != napi_ok) return nullptr;
  return static_cast<SlotTable*>(data);
}

// registerAttr(attr: Uint8Array of 1..4096 bytes) -> slot number.
napi_value RegisterAttr(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  SlotTable* table = TableOf(env, cbinfo, &argc, argv);
  if (table == nullptr || argc != 1) return ThrowTypeRaw(env, "registerAttr(attr) takes 1 argument");
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array)
    return ThrowTypeRaw(env, "attr must be a Uint8Array");
  if (length == 0 || length > kMaxAttrSize) return ThrowTypeRaw(env, "attr length must be in [1, 4096]");
  uint32_t slot;
  if (!table->free.empty()) {
    slot = table->free.back();
    table->free.pop_back();
  } else {
    if (table->slots.size() >= kMaxSlots) return ThrowTypeRaw(env, "too many registered attrs");
    slot = static_cast<uint32_t>(table->slots.size());
    table->slots.emplace_back();
  }
  SlotTable::Slot& s = table->slots[slot];
  if (napi_create_reference(env, argv[0], 1, &s.ref) != napi_ok) return ThrowTypeRaw(env, "cannot reference attr");
  s.data = static_cast<uint8_t*>(data);
  s.length = length;
  napi_value out;
  napi_create_uint32(env, slot, &out);
  return out;
}

// unregisterAttr(slot): releases the slot and its reference; unknown slots are ignored.
napi_value UnregisterAttr(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  SlotTable* table = TableOf(env, cbinfo, &argc, argv);
  uint32_t slot;
  if (table == nullptr || argc != 1 || napi_get_value_uint32(env, argv[0], &slot) != napi_ok)
    return ThrowTypeRaw(env, "unregisterAttr(slot) takes a slot number");
  if (slot < table->slots.size() && table->slots[slot].data != nullptr) {
    SlotTable::Slot& s = table->slots[slot];
    napi_delete_reference(env, s.ref);
    s = SlotTable::Slot{};
    table->free.push_back(slot);
  }
  return nullptr;
}

// bpfSlot(cmd | slot << 10) -> result >= 0, or -errno.
napi_value BpfSlot(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  SlotTable* table = TableOf(env, cbinfo, &argc, argv);
  uint32_t packed;
  if (table == nullptr || argc != 1 || napi_get_value_uint32(env, argv[0], &packed) != napi_ok)
    return ThrowTypeRaw(env, "bpfSlot(cmd | slot << 10) takes 1 number");
  uint32_t cmd = packed & 1023u, slot = packed >> 10;
  if (slot >= table->slots.size() || table->slots[slot].data == nullptr)
    return ThrowTypeRaw(env, "bpfSlot: no attr registered in that slot");
  const SlotTable::Slot& s = table->slots[slot];
  long r = DoBpf(cmd, Span{s.data, s.length});
  napi_value out;
  napi_create_int32(env, static_cast<int32_t>(r), &out);
  return out;
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
  napi_value fast;
  napi_create_function(env, "bpfFast", NAPI_AUTO_LENGTH, BpfFast, nullptr, &fast);
  exports.Set("bpfFast", Napi::Value(env, fast));
  exports.Set("addressOf", Napi::Function::New(env, AddressOf));
  auto* table = new SlotTable();
  napi_add_env_cleanup_hook(env, [](void* t) { delete static_cast<SlotTable*>(t); }, table);
  const std::pair<const char*, napi_callback> slotFns[] = {
      {"registerAttr", RegisterAttr}, {"unregisterAttr", UnregisterAttr}, {"bpfSlot", BpfSlot}};
  for (const auto& [name, cb] : slotFns) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, table, &fn);
    exports.Set(name, Napi::Value(env, fn));
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(tsbpf_native, Init)
