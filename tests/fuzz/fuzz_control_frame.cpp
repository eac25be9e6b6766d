// The control protocol's frame scan and request decoding, as the host runs
// them on bytes from any local client: never crash, never throw, and a
// decoded request encodes back to one that decodes the same.
#include <graft/control_protocol.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace graft::control;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)scan_frame(bytes, 64 * 1024);
  const DecodedRequest framed = decode_request_frame(bytes);
  const DecodedRequest payload = decode_request(bytes);
  for (const DecodedRequest* d : {&framed, &payload}) {
    if (d->request.has_value() != (d->error == RequestError::none)) std::abort();
    if (d->request) {
      const DecodedRequest again = decode_request(encode_request(*d->request));
      if (!again.request || again.request->command != d->request->command ||
          again.request->component != d->request->component ||
          again.request->bundle != d->request->bundle) {
        std::abort();
      }
    }
  }
  (void)decode_reply(bytes);
  return 0;
}
