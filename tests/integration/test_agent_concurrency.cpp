// Many sessions of one Agent on one io_context, each with its own script on
// the fake server (keyed on its task), must not see each other's state.

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "stirrup/agent/agent.hpp"
#include "stirrup/exec/local/local.hpp"
#include "support/agent_fixture.hpp"

using namespace stirrup;
using namespace stirrup::test;
namespace fs = std::filesystem;
namespace json = boost::json;

TEST_CASE("agent: 200 concurrent sessions of one Agent on one io_context do not interfere")
{
    constexpr int n = 200;
    json::object sessions;
    for (int i = 0; i < n; ++i) {
        const std::string key = "[session " + std::to_string(i) + "]";
        json::array steps;
        // Each session writes its own number, reads it back, and finishes with it.
        steps.push_back(exec_step("echo " + std::to_string(i) + " > mine.txt && sleep 0.0$((RANDOM % 10))"));
        steps.push_back(exec_step("cat mine.txt"));
        steps.push_back(finish_step({"mine.txt"}, "session " + std::to_string(i)));
        sessions[key] = std::move(steps);
    }
    FakeOpenAi fake(json::serialize(json::object{{"sessions", std::move(sessions)}, {"keep_requests", false}}));
    ScratchDir base, out;

    boost::asio::io_context io;
    LocalCodeExecOptions local;
    local.temp_base_dir = base.path();
    AgentOptions o;
    o.tools = std::vector<ToolSource>{local_code_exec(local)};
    auto logger = std::make_shared<RecordingLogger>();
    o.logger = logger;
    Agent agent(fake_client(fake, io.get_executor()), "many", o);

    std::vector<std::optional<SessionResult<RunResult>>> results(n);
    std::vector<std::exception_ptr> errors(n);
    for (int i = 0; i < n; ++i) {
        SessionOptions so;
        so.output_dir = out.path() / std::to_string(i);
        boost::asio::co_spawn(io, agent.run("Task [session " + std::to_string(i) + "]: write your number", so),
                              [&, i](std::exception_ptr e, SessionResult<RunResult> r) {
                                  errors[i] = e;
                                  if (!e)
                                      results[i].emplace(std::move(r));
                              });
    }
    io.run();

    int finished = 0;
    for (int i = 0; i < n; ++i) {
        INFO("session " << i);
        if (errors[i]) {
            try {
                std::rethrow_exception(errors[i]);
            } catch (const std::exception& e) {
                FAIL(e.what());
            }
        }
        REQUIRE(results[i]);
        const auto& r = *results[i];
        REQUIRE(r.value.finished());
        CHECK(r.value.turns == 3);
        CHECK(r.value.finish->params.at("reason").as_string() == "session " + std::to_string(i));
        CHECK(read_text(out.path() / std::to_string(i) / "mine.txt") == std::to_string(i) + "\n");
        // The second turn's tool result is this session's own number.
        const auto& history = r.value.history.back();
        const auto& cat = std::get<ToolMessage>(history.at(5));
        CHECK(std::get<std::string>(cat.content).find("<stdout>" + std::to_string(i) + "\n</stdout>") !=
              std::string::npos);
        ++finished;
    }
    CHECK(finished == n);
    CHECK(base.entries().empty());
    CHECK(logger->events("session_start").size() == n);
    CHECK(logger->events("session_end").size() == n);
}
