namespace AsymCdc.Training;

/// <summary><c>asymcdc train-decoders</c> cannot go on: a missing model or output, data of the wrong shape, no data, a
/// failed training run. The message names what was wrong and what to do; nothing has been written to the repository
/// unless the message says so.</summary>
public sealed class DecoderTrainingException : Exception
{
    public DecoderTrainingException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
