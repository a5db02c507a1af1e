using Orleans;
using Orleans.Runtime;
using StackExchange.Redis;

namespace AsymCdc.Hosting;

/// <summary>
/// Checks, before membership starts, that the Redis membership store answers. Without it an unreachable Redis makes the
/// silo retry quietly; with it start-up fails at once with a message naming the connection string.
/// </summary>
public sealed partial class RedisReachability(string connectionString) : ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RedisReachability), ServiceLifecycleStage.First, CheckAsync);

    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = (int)ConnectTimeout.TotalMilliseconds;
        options.ConnectRetry = 1;
        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
            await connection.GetDatabase().PingAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ArgumentException)
        {
            throw new InvalidOperationException(
                $"cannot reach Redis at '{connectionString}' (AsymCdc:Silo:RedisConnectionString) within {ConnectTimeout.TotalSeconds:0} s: {e.Message}. "
                + "Start Redis or fix the connection string.", e);
        }
    }
}
