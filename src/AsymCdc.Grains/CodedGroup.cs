using AsymCdc.Abstractions;
using Orleans.Runtime;

namespace AsymCdc.Grains;

/// <summary>
/// One parity group while it is open and in flight: up to k data members, each dispatched at once to its own silo,
/// and the parity, dispatched when the group is sealed (full, or its window ended). Touched only from its
/// parity-group grain's activation, so it needs no locks.
/// </summary>
internal sealed class CodedGroup
{
    private readonly TaskCompletionSource _sealed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CodedGroup(long id, int k, SiloAddress[] silos, int inputLength)
    {
        Id = id;
        Silos = silos;
        Inputs = new float[k * inputLength];
        Data = new Task<WorkerAnswer>[k];
        InputLength = inputLength;
    }

    public long Id { get; }

    /// <summary>k+1 silos: member i runs on Silos[i], the parity on Silos[k].</summary>
    public SiloAddress[] Silos { get; }

    public SiloAddress ParitySilo => Silos[^1];

    /// <summary>Members' inputs back to back, the encoder's input.</summary>
    public float[] Inputs { get; }

    public int InputLength { get; }

    public Task<WorkerAnswer>[] Data { get; }

    /// <summary>Members present (k' ≤ k).</summary>
    public int Count { get; private set; }

    public bool IsFull => Count == Data.Length;

    public bool IsSealed => _sealed.Task.IsCompleted;

    public Task<WorkerAnswer>? Parity { get; private set; }

    public int Add(float[] input, Func<int, Task<WorkerAnswer>> dispatch)
    {
        var index = Count++;
        input.CopyTo(Inputs.AsSpan(index * InputLength, InputLength));
        Data[index] = dispatch(index);
        return index;
    }

    public void Seal(Task<WorkerAnswer> parity)
    {
        Parity = parity;
        _sealed.TrySetResult();
    }

    /// <summary>Completes when the k' answers other than member <paramref name="missing"/> (the k'−1 other data members
    /// and the parity) are in; faults when one of them failed, in which case this member cannot be decoded.</summary>
    public async Task<WorkerAnswer[]> OthersAsync(int missing)
    {
        await _sealed.Task;
        var others = new Task<WorkerAnswer>[Count];
        var n = 0;
        for (var j = 0; j < Count; j++)
        {
            if (j != missing)
            {
                others[n++] = Data[j];
            }
        }

        others[n] = Parity!;
        return await Task.WhenAll(others);
    }
}
