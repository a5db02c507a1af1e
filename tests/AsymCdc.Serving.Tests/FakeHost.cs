using AsymCdc.Serving;
using Microsoft.Extensions.Time.Testing;

namespace AsymCdc.Serving.Tests;

/// <summary>An answer in these tests: which input it answers (the first value) and which worker gave it.</summary>
internal sealed record Reply(float Value, int Worker);

/// <summary>A host whose workers answer only when a test says so; its clock is a <see cref="FakeTimeProvider"/>, whose
/// timers fire inside <c>Advance</c>, on the test's thread (the policy's thread here).</summary>
internal sealed class FakeHost : IServingHost<int, Reply>, IServingObserver<int>
{
    private int _cursor;

    public FakeHost(int workers = 5) => Workers = Enumerable.Range(0, workers).ToArray();

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero));

    public TimeProvider Time => Clock;

    public int[] Workers { get; }

    public List<WorkerDispatch<int, Reply>> Calls { get; } = [];

    public List<DecodeJob<int, Reply>> Decodes { get; } = [];

    public int Stragglers { get; private set; }

    public List<bool> Groups { get; } = [];

    public List<string> Events { get; } = [];

    public int[] Pick(int count)
    {
        var picked = new int[count];
        for (var i = 0; i < count; i++)
        {
            picked[i] = Workers[(_cursor + i) % Workers.Length];
        }

        _cursor++;
        return picked;
    }

    public void Send(WorkerDispatch<int, Reply> call) => Calls.Add(call);

    public void Decode(DecodeJob<int, Reply> job) => Decodes.Add(job);

    /// <summary>The worker answers call <paramref name="i"/> with the value it was sent.</summary>
    public void Answer(int i) => Calls[i].Complete(new Reply(Calls[i].Input[0], Calls[i].Worker));

    public void Fail(int i) => Calls[i].Fail(new InvalidOperationException($"worker {Calls[i].Worker} is gone"));

    public void Advance(double ms) => Clock.Advance(TimeSpan.FromMilliseconds(ms));

    public void WorkerCallSent(CallRole role) => Events.Add($"sent {role}");

    public void CallCompleted(int worker, TimeSpan elapsed, bool succeeded)
    {
    }

    public void StragglerDetected() => Stragglers++;

    public IDisposable? Encoding(long groupId, int members) => null;

    public void GroupFormed(bool partial, bool parity)
    {
        Groups.Add(partial);
        if (!parity)
        {
            Events.Add("sealed without parity");
        }
    }

    public void MemberMissed(long groupId, int index, int worker, bool failed) => Events.Add($"missed {index} {(failed ? "failed" : "late")}");

    public void MemberLost(long groupId, int index, string? reason) => Events.Add($"lost {index}");

    public void DecodeFailed(long groupId, int index, Exception error) => Events.Add($"decode failed {index}");

    public void Decoded(TimeSpan elapsed) => Events.Add("decoded");

    public void AutoChose(string mode, string why) => Events.Add($"auto {mode}: {why}");

    public static ServedQuery<Reply> Query(float value, int length = 4)
    {
        var input = new float[length];
        Array.Fill(input, value);
        return new ServedQuery<Reply>(input);
    }
}
