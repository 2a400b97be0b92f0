#include "viewer/http_server.hpp"

#include <array>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fstream>

namespace tether::viewer {
namespace {
constexpr int stream_send_buffer = 128 * 1024;  // Linux doubles it
}  // namespace

struct http_server::shared {
  handler on_request;
  http_server_options options;
};

const char* http_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// One client connection: requests one after another (keep-alive), each answered before
// the next is read; or, once stream() is called, a stream of parts until it leaves.
class http_connection : public http_stream, public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(asio::ip::tcp::socket s, std::shared_ptr<const http_server::shared> sh)
      : executor_(s.get_executor()),
        socket_(std::move(s)),
        timer_(executor_),
        shared_(std::move(sh)),
        parser_(shared_->options.limits) {}

  // Where to post to it from other threads (set once, so reading it needs no lock).
  const asio::any_io_executor& get_executor() const { return executor_; }

  void start() {
    arm(shared_->options.idle_timeout);
    read_more();
  }

  void respond(http_response r) {  // io thread
    if (closed_ || !awaiting_reply_) return;
    awaiting_reply_ = false;
    std::uintmax_t length = r.body.size();
    if (!r.file.empty()) {
      file_.open(r.file, std::ios::binary);
      std::error_code ec;
      length = std::filesystem::file_size(r.file, ec);
      if (!file_ || ec) {
        file_ = {};
        awaiting_reply_ = true;
        return respond(
            {500, "text/plain; charset=utf-8", "cannot read " + r.file.string(), {}, {}});
      }
    }
    std::string head =
        "HTTP/1.1 " + std::to_string(r.status) + " " + http_reason(r.status) +
        "\r\nContent-Type: " + r.content_type + "\r\nContent-Length: " + std::to_string(length) +
        "\r\nCache-Control: no-store\r\nConnection: " + (keep_alive_ ? "keep-alive" : "close") +
        "\r\n";
    for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    out_ = std::move(head) + "\r\n" + r.body;
    write_out();
  }

  std::shared_ptr<http_stream> begin_stream(const std::string& content_type) {  // io thread
    if (closed_ || !awaiting_reply_) return nullptr;
    awaiting_reply_ = false;
    streaming_ = true;
    keep_alive_ = false;
    // A small socket buffer: what a slow client has not taken waits here (the newest
    // part only), not in a kernel queue of seconds of old frames.
    std::error_code ignored;
    socket_.set_option(asio::socket_base::send_buffer_size(stream_send_buffer), ignored);
    write_part(std::make_shared<const std::string>(
        "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
        "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"));
    discard_until_closed();  // a streaming client sends nothing more; reading sees it leave
    return shared_from_this();
  }

  bool offer(std::shared_ptr<const std::string> part) override {
    if (closed_) return false;
    if (!writing_) {
      write_part(std::move(part));
      return false;
    }
    const bool replaced = waiting_ != nullptr;
    waiting_ = std::move(part);
    return replaced;
  }
  bool closed() const override { return closed_; }

  void close() {
    if (closed_) return;
    closed_ = true;
    ++timer_generation_;
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
    waiting_.reset();
  }

 private:
  // The timer closes the connection when it expires; a newer arm() or close() voids an
  // older expiry even when its handler is already queued.
  void arm(std::chrono::milliseconds d) {
    const auto generation = ++timer_generation_;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), generation](std::error_code ec) {
      if (!ec && generation == self->timer_generation_) self->close();
    });
  }
  void disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  void read_more() {
    if (begin_ < end_) return handle_input();
    socket_.async_read_some(asio::buffer(in_),
                            [self = shared_from_this()](std::error_code ec, std::size_t n) {
                              if (ec || self->closed_) return self->close();
                              self->begin_ = 0;
                              self->end_ = n;
                              self->handle_input();
                            });
  }

  void handle_input() {
    begin_ += parser_.feed(std::span(in_.data() + begin_, end_ - begin_));
    switch (parser_.state()) {
      case http_request_parser::status::incomplete: return read_more();
      case http_request_parser::status::failed:
        keep_alive_ = false;
        awaiting_reply_ = true;
        return respond({parser_.error_status(),
                        "text/plain; charset=utf-8",
                        parser_.error_text() + "\n",
                        {},
                        {}});
      case http_request_parser::status::complete: break;
    }
    disarm();  // the handler answers; the idle timeout starts again after the answer
    const http_request request = parser_.take();
    keep_alive_ = request.keep_alive;
    awaiting_reply_ = true;
    shared_->on_request(request, http_reply(shared_from_this()));
  }

  void write_out() {
    arm(shared_->options.write_timeout);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](std::error_code ec, std::size_t) {
                        if (ec || self->closed_) return self->close();
                        self->after_write();
                      });
  }

  void after_write() {
    if (file_.is_open()) {
      out_.resize(256 * 1024);
      file_.read(out_.data(), static_cast<std::streamsize>(out_.size()));
      out_.resize(static_cast<std::size_t>(file_.gcount()));
      if (!out_.empty()) return write_out();
      file_ = {};
    }
    out_.clear();
    out_.shrink_to_fit();
    if (!keep_alive_) return linger();
    arm(shared_->options.idle_timeout);
    read_more();
  }

  void write_part(std::shared_ptr<const std::string> part) {
    writing_ = true;
    current_ = std::move(part);
    arm(shared_->options.write_timeout);
    asio::async_write(socket_, asio::buffer(*current_),
                      [self = shared_from_this()](std::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->current_.reset();
                        if (ec || self->closed_) return self->close();
                        if (self->waiting_) return self->write_part(std::move(self->waiting_));
                        self->disarm();  // no parts for a while is fine
                      });
  }

  // Closing with unread input would send a reset, and the client could lose the answer
  // (a 413 while it still sends its body): end our side, then read and drop what comes
  // for a little while.
  void linger() {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    arm(std::chrono::seconds(2));
    discard_until_closed();
  }
  void discard_until_closed() {
    socket_.async_read_some(asio::buffer(in_),
                            [self = shared_from_this()](std::error_code ec, std::size_t) {
                              if (ec || self->closed_) return self->close();
                              self->discard_until_closed();
                            });
  }

  const asio::any_io_executor executor_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  std::shared_ptr<const http_server::shared> shared_;
  http_request_parser parser_;
  std::array<char, 4096> in_{};
  std::size_t begin_ = 0, end_ = 0;
  bool keep_alive_ = true;
  bool awaiting_reply_ = false;
  bool closed_ = false;
  std::string out_;
  std::ifstream file_;
  bool streaming_ = false;
  bool writing_ = false;
  std::shared_ptr<const std::string> current_, waiting_;
};

void http_reply::send(http_response r) const {
  asio::post(c_->get_executor(),
             [c = c_, r = std::move(r)]() mutable { c->respond(std::move(r)); });
}

std::shared_ptr<http_stream> http_reply::stream(const std::string& content_type) const {
  return c_->begin_stream(content_type);
}

http_server::http_server(asio::io_context& io, const asio::ip::tcp::endpoint& at, handler h,
                         http_server_options o)
    : acceptor_(io), retry_(io), shared_(std::make_shared<shared>(shared{std::move(h), o})) {
  acceptor_.open(at.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(at);
  acceptor_.listen();
  accept();
}

http_server::~http_server() { close(); }

void http_server::close() {
  std::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
  for (auto& w : connections_)
    if (auto c = w.lock()) c->close();
  connections_.clear();
}

void http_server::accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {  // out of file descriptors, say: try again a little later
      retry_.expires_after(std::chrono::milliseconds(100));
      return retry_.async_wait([this](std::error_code wec) {
        if (!wec) accept();
      });
    }
    {
      std::erase_if(connections_, [](const auto& w) { return w.expired(); });
      if (connections_.size() >= shared_->options.max_connections) {
        static const std::string busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 21\r\nConnection: close\r\n\r\n"
            "too many connections\n";
        auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
        asio::async_write(*sock, asio::buffer(busy), [sock](std::error_code, std::size_t) {
          std::error_code ignored;
          sock->close(ignored);
        });
      } else {
        auto c = std::make_shared<http_connection>(std::move(s), shared_);
        connections_.push_back(c);
        c->start();
      }
    }
    accept();
  });
}

}  // namespace tether::viewer
