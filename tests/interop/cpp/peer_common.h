// Shared by the C++ peers: a tiny JSON writer, a server socket that reports the port the
// kernel picked, and transport factories without the library's 100 MB / 16 MB limits.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <netinet/in.h>

#include <thrift/TConfiguration.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TServerSocket.h>
#include <thrift/transport/TSocket.h>

namespace peer {

inline std::string quote(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

// A JSON object built key by key; values are JSON text.
class Obj {
 public:
  Obj& raw(const std::string& k, const std::string& json) {
    if (!body_.empty()) body_ += ",";
    body_ += quote(k) + ":" + json;
    return *this;
  }
  Obj& num(const std::string& k, int64_t v) { return raw(k, std::to_string(v)); }
  Obj& str(const std::string& k, const std::string& v) { return raw(k, quote(v)); }
  Obj& boolean(const std::string& k, bool v) { return raw(k, v ? "true" : "false"); }
  std::string json() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

inline std::string jnum(int64_t v) { return std::to_string(v); }
inline std::string jstr(const std::string& v) { return quote(v); }
inline std::string jbool(bool v) { return v ? "true" : "false"; }

template <class T, class F>
std::string jlist(const T& items, F f) {
  std::string o = "[";
  bool first = true;
  for (const auto& i : items) {
    if (!first) o += ",";
    first = false;
    o += f(i);
  }
  return o + "]";
}

// TServerSocket whose listen() may be called before serve(): bind on port 0, learn the
// port, then hand it to a server (whose serve() calls listen() again). Accepted sockets
// carry no message size limit (the library's default is 100 MB per socket).
class ListenOnce : public apache::thrift::transport::TServerSocket {
 public:
  ListenOnce(const std::string& host, int port) : TServerSocket(host, port) {}
  void listen() override {
    if (!listening_) {
      TServerSocket::listen();
      listening_ = true;
    }
  }
  std::shared_ptr<apache::thrift::transport::TSocket> createSocket(THRIFT_SOCKET client) override {
    auto s = TServerSocket::createSocket(client);
    s->getConfiguration()->setMaxMessageSize(INT32_MAX);
    s->getConfiguration()->setMaxFrameSize(INT32_MAX);
    s->updateKnownMessageSize(-1);
    return s;
  }

  int boundPort() {
    listen();
    sockaddr_in a{};
    socklen_t n = sizeof a;
    getsockname(getSocketFD(), reinterpret_cast<sockaddr*>(&a), &n);
    return ntohs(a.sin_port);
  }

 private:
  bool listening_ = false;
};

inline std::shared_ptr<apache::thrift::TConfiguration> unlimited() {
  return std::make_shared<apache::thrift::TConfiguration>(INT32_MAX, INT32_MAX);
}

class BufferedFactory : public apache::thrift::transport::TTransportFactory {
 public:
  std::shared_ptr<apache::thrift::transport::TTransport> getTransport(
      std::shared_ptr<apache::thrift::transport::TTransport> t) override {
    return std::make_shared<apache::thrift::transport::TBufferedTransport>(t, unlimited());
  }
};

class FramedFactory : public apache::thrift::transport::TTransportFactory {
 public:
  std::shared_ptr<apache::thrift::transport::TTransport> getTransport(
      std::shared_ptr<apache::thrift::transport::TTransport> t) override {
    return std::make_shared<apache::thrift::transport::TFramedTransport>(t, unlimited());
  }
};

inline std::shared_ptr<apache::thrift::transport::TTransportFactory> factory(bool framed) {
  if (framed) return std::make_shared<FramedFactory>();
  return std::make_shared<BufferedFactory>();
}

// MD5 (RFC 1321), for naming uploaded files <file>.<md5> as the BE does, without pulling
// in a crypto library the CI does not install.
class Md5 {
 public:
  void update(const void* data, size_t n) {
    auto p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; i++) {
      block_[used_++] = p[i];
      if (used_ == 64) {
        compress();
        used_ = 0;
      }
    }
    bytes_ += n;
  }

  std::string hex() {
    uint64_t bits = bytes_ * 8;
    unsigned char pad = 0x80;
    update(&pad, 1);
    unsigned char zero = 0;
    while (used_ != 56) update(&zero, 1);
    for (int i = 0; i < 8; i++) block_[56 + i] = static_cast<unsigned char>(bits >> (8 * i));
    compress();
    std::string out;
    char b[3];
    for (uint32_t w : h_)
      for (int i = 0; i < 4; i++) {
        std::snprintf(b, sizeof b, "%02x", (w >> (8 * i)) & 0xff);
        out += b;
      }
    return out;
  }

 private:
  static uint32_t rotl(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

  void compress() {
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
    static const int R[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
      m[i] = uint32_t(block_[4 * i]) | uint32_t(block_[4 * i + 1]) << 8 | uint32_t(block_[4 * i + 2]) << 16 |
             uint32_t(block_[4 * i + 3]) << 24;
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3];
    for (int i = 0; i < 64; i++) {
      uint32_t f;
      int g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      uint32_t t = d;
      d = c;
      c = b;
      b = b + rotl(a + f + K[i] + m[g], R[i]);
      a = t;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
  }

  uint32_t h_[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  unsigned char block_[64] = {};
  size_t used_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace peer
