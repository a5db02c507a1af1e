using AsymCdc.Abstractions;
using AsymCdc.Coding;
using AsymCdc.Grains;
using AsymCdc.Inference;

namespace AsymCdc.Hosting;

/// <summary>Adapts the inference layer's <see cref="ModelRepository"/> to the grains' <see cref="IModelCatalog"/>.</summary>
public sealed class ModelRepositoryCatalog(ModelRepository repository) : IModelCatalog
{
    public IModelFunction Get(string name)
    {
        try
        {
            return repository.Get(name);
        }
        catch (ModelRepositoryException e)
        {
            throw new PredictionException(PredictionErrorCode.UnknownModel, e.Message);
        }
    }

    public bool Contains(string name) => repository.Contains(name);
}
