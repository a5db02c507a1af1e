using AsymCdc.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Gateway.Tests;

public sealed class GatewayErrorTests
{
    [Theory]
    [InlineData(PredictionErrorCode.Overloaded, 503, true)]
    [InlineData(PredictionErrorCode.Unavailable, 503, true)]
    [InlineData(PredictionErrorCode.DeadlineExceeded, 504, false)]
    [InlineData(PredictionErrorCode.InvalidInput, 400, false)]
    [InlineData(PredictionErrorCode.UnknownModel, 404, false)]
    [InlineData(PredictionErrorCode.UnknownMode, 400, false)]
    [InlineData(PredictionErrorCode.BatchTooLarge, 400, false)]
    public void Prediction_errors_map_to_HTTP_keeping_the_cluster_message(PredictionErrorCode code, int status, bool retryAfter)
    {
        var error = GatewayError.From(new PredictionException(code, $"message for {code}"));

        Assert.Equal(status, error.StatusCode);
        Assert.Equal(retryAfter, error.RetryAfter);
        Assert.Equal($"message for {code}", error.Message);
    }

    [Fact]
    public void Every_prediction_error_code_has_a_mapping_that_is_not_a_server_fault()
    {
        foreach (var code in Enum.GetValues<PredictionErrorCode>())
        {
            Assert.NotEqual(500, GatewayError.From(new PredictionException(code, "x")).StatusCode);
        }
    }

    [Fact]
    public void Orleans_transport_failures_are_retryable_and_timeouts_are_504()
    {
        Assert.Equal((503, true), Pick(GatewayError.From(new SiloUnavailableException("gone"))));
        Assert.Equal((504, false), Pick(GatewayError.From(new TimeoutException("late"))));
        Assert.Equal((500, false), Pick(GatewayError.From(new InvalidOperationException("bug"))));

        static (int, bool) Pick(GatewayError e) => (e.StatusCode, e.RetryAfter);
    }

    [Fact]
    public void Unexpected_exceptions_do_not_leak_their_message_to_callers() =>
        Assert.DoesNotContain("secret", GatewayError.From(new InvalidOperationException("secret detail")).Message, StringComparison.Ordinal);

    [Fact]
    public void A_batch_reports_a_permanent_error_first_then_overload_then_deadline()
    {
        var deadline = new PredictionException(PredictionErrorCode.DeadlineExceeded, "late");
        var overloaded = new PredictionException(PredictionErrorCode.Overloaded, "busy");
        var invalid = new PredictionException(PredictionErrorCode.InvalidInput, "bad");
        var bug = new InvalidOperationException("bug");

        Assert.Same(invalid, GatewayError.MostTelling([bug, deadline, overloaded, invalid]));
        Assert.Same(overloaded, GatewayError.MostTelling([bug, deadline, overloaded]));
        Assert.Same(deadline, GatewayError.MostTelling([bug, deadline]));
        Assert.Same(bug, GatewayError.MostTelling([bug]));
    }

    [Fact]
    public void Among_equal_failures_the_earliest_image_is_reported()
    {
        var first = new PredictionException(PredictionErrorCode.Overloaded, "first");
        Assert.Same(first, GatewayError.MostTelling([first, new PredictionException(PredictionErrorCode.Unavailable, "second")]));
    }

    [Fact]
    public void Defaults_are_valid() =>
        Assert.True(new GatewayOptionsValidator().Validate(null, new GatewayOptions()).Succeeded);

    [Theory]
    [InlineData(0, 1, "MaxBatchSize is 0")]
    [InlineData(5000, 1, "MaxBatchSize is 5000")]
    [InlineData(256, 0, "RetryAfter is 00:00:00")]
    public void Bad_settings_fail_naming_the_key(int maxBatch, int retrySeconds, string expected)
    {
        var result = new GatewayOptionsValidator().Validate(null, new GatewayOptions { MaxBatchSize = maxBatch, RetryAfter = TimeSpan.FromSeconds(retrySeconds) });

        Assert.True(result.Failed);
        Assert.Contains("AsymCdc:Gateway:" + expected, result.FailureMessage, StringComparison.Ordinal);
    }
}
