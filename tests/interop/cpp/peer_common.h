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

}  // namespace peer
